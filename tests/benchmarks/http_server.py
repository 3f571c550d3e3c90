"""The server side of the HTTP client benchmark: hypercorn over TLS (h2 and http/1.1 by ALPN),
answering every POST like FCM's send endpoint. Run by http_clients in its own process.

``GET /stats`` answers what it saw since the last ``/stats`` (requests, the distinct client
connections by HTTP version) and starts counting afresh, so a run can show that a client really
multiplexed its requests on one HTTP/2 connection. An optional third argument makes it close
each connection (GOAWAY on HTTP/2) after that many requests, as FCM and hypercorn do.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config

from services.emulators.tls import create_ca

REPLY = b'{"name":"projects/bench/messages/1"}'


class Seen:
    """Requests and client connections (by peer address) since the last report."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.connections: dict[str, set[tuple[str, int]]] = {}

    def add(self, scope: dict[str, Any]) -> None:
        version = str(scope["http_version"])
        self.requests[version] += 1
        self.connections.setdefault(version, set()).add(tuple(scope["client"]))

    def report(self) -> bytes:
        versions = sorted(self.requests)
        stats = {
            v: {"requests": self.requests[v], "connections": len(self.connections[v])}
            for v in versions
        }
        self.requests.clear()
        self.connections.clear()
        return json.dumps(stats).encode()


def make_app(seen: Seen) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        if scope["method"] == "GET" and scope["path"] == "/stats":
            body = seen.report()
        else:
            seen.add(scope)
            body = REPLY
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


def main() -> None:
    port, folder = int(sys.argv[1]), Path(sys.argv[2])
    per_connection = int(sys.argv[3]) if len(sys.argv) > 3 else 10**9
    server = create_ca(folder).issue_server(folder)
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.certfile, config.keyfile = str(server.cert), str(server.key)
    config.alpn_protocols = ["h2", "http/1.1"]
    config.keep_alive_max_requests = per_connection
    config.h2_max_concurrent_streams = 1000
    config.accesslog = None
    asyncio.run(serve(make_app(Seen()), config))


if __name__ == "__main__":
    main()
