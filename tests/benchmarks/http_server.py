"""The server side of the HTTP client benchmark: hypercorn over TLS (h2 and http/1.1 by ALPN),
answering every POST like FCM's send endpoint. Run by http_clients in its own process."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config

from services.emulators.tls import create_ca

REPLY = b'{"name":"projects/bench/messages/1"}'


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": REPLY})


def main() -> None:
    port, folder = int(sys.argv[1]), Path(sys.argv[2])
    server = create_ca(folder).issue_server(folder)
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.certfile, config.keyfile = str(server.cert), str(server.key)
    config.alpn_protocols = ["h2", "http/1.1"]
    config.keep_alive_max_requests = 10**9
    config.h2_max_concurrent_streams = 1000
    config.accesslog = None
    asyncio.run(serve(app, config))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
