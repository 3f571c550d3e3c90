"""Client CPU per request of the ways a dispatcher could POST to a provider over TLS:
httpx HTTP/1.1 (a pool of connections), httpx HTTP/2 (one multiplexed connection), the least an
h2-library client does, and Herald's own (services/dispatcher/transport, what the FCM and Web Push
dispatchers use). ``python -m tests.benchmarks.http_clients [N]``.

The server runs in another process, so the CPU time measured is the client's alone.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
import httpx

from services.dispatcher.transport import H2Client, HttpxSender
from shared.embedded.ports import free_port

IN_FLIGHT = 32
PATH = "/v1/projects/bench/messages:send"
HEADERS = {"authorization": "Bearer token", "content-type": "application/json"}
BODY = json.dumps(
    {
        "message": {
            "token": "x" * 160,
            "notification": {"title": "Hello", "body": "World"},
            "data": {"herald_notification_id": "5b0c9d4e-2f0a-4d53-8a36-0e2b7b4f1c11"},
        }
    }
).encode()

Send = Callable[[], Awaitable[None]]


async def measure(send: Send, requests: int) -> tuple[float, float]:
    """Wall seconds and client CPU seconds for ``requests`` sends, IN_FLIGHT at a time."""
    for _ in range(50):
        await send()
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def one() -> None:
        async with slots:
            await send()

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one() for _ in range(requests)))
    return time.perf_counter() - wall, time.process_time() - cpu


async def with_httpx(
    url: str, ca: Path, requests: int, *, http2: bool, pool: int
) -> tuple[float, float]:
    context = ssl.create_default_context(cafile=str(ca))
    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    async with httpx.AsyncClient(
        http2=http2, verify=context, limits=limits, trust_env=False
    ) as client:

        async def send() -> None:
            response = await client.post(url + PATH, content=BODY, headers=HEADERS)
            assert response.status_code == 200

        return await measure(send, requests)


class _BareH2(asyncio.Protocol):
    """The least an HTTP/2 client does: streams, flow-control credit, responses by stream id."""

    def __init__(self) -> None:
        config = h2.config.H2Configuration(client_side=True, header_encoding=None)
        self.conn = h2.connection.H2Connection(config)
        self.pending: dict[int, asyncio.Future[None]] = {}
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.conn.initiate_connection()
        transport.write(self.conn.data_to_send())

    def data_received(self, data: bytes) -> None:
        for event in self.conn.receive_data(data):
            if isinstance(event, h2.events.DataReceived) and event.stream_id is not None:
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded) and event.stream_id is not None:
                self.pending.pop(event.stream_id).set_result(None)
        assert self.transport is not None
        self.transport.write(self.conn.data_to_send())

    async def post(self) -> None:
        stream = self.conn.get_next_available_stream_id()
        done = asyncio.get_running_loop().create_future()
        self.pending[stream] = done
        headers = [(":method", "POST"), (":scheme", "https"), (":authority", "127.0.0.1")]
        self.conn.send_headers(stream, [*headers, (":path", PATH), *HEADERS.items()])
        self.conn.send_data(stream, BODY, end_stream=True)
        assert self.transport is not None
        self.transport.write(self.conn.data_to_send())
        await done


#: What a Web Push request carries: a long VAPID authorization and a path per subscription.
WEBPUSH_HEADERS = {
    "authorization": f"vapid t={'x' * 250}, k={'y' * 87}",
    "ttl": "2419200",
    "content-encoding": "aes128gcm",
    "content-type": "application/octet-stream",
}


async def with_herald(
    url: str, ca: Path, requests: int, *, webpush: bool = False
) -> tuple[float, float]:
    tls = ssl.create_default_context(cafile=str(ca))
    fallback = HttpxSender(httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(ca))))
    client = H2Client(tls, connect_timeout=5, fallback=fallback)
    sent = iter(range(10**9))

    async def send() -> None:
        if webpush:
            response = await client.post(f"{url}/push/s-{next(sent)}", WEBPUSH_HEADERS, BODY)
        else:
            response = await client.post(url + PATH, HEADERS, BODY)
        assert response.status == 200

    try:
        return await measure(send, requests)
    finally:
        await client.aclose()


async def with_bare_h2(port: int, ca: Path, requests: int) -> tuple[float, float]:
    context = ssl.create_default_context(cafile=str(ca))
    context.set_alpn_protocols(["h2"])
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_connection(_BareH2, "127.0.0.1", port, ssl=context)
    try:
        return await measure(client.post, requests)
    finally:
        transport.close()


def main() -> int:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        server = subprocess.Popen(
            [sys.executable, "-m", "tests.benchmarks.http_server", str(port), folder],
            stderr=subprocess.DEVNULL,
        )
        try:
            ca = Path(folder) / "herald-local-ca.crt"
            url = f"https://127.0.0.1:{port}"
            deadline = time.monotonic() + 20
            while not ca.exists() or not _listening(port):
                if time.monotonic() > deadline:
                    raise RuntimeError("the benchmark server did not start")
                time.sleep(0.1)
            cases: dict[str, Callable[[], Coroutine[Any, Any, tuple[float, float]]]] = {
                f"httpx HTTP/1.1, {IN_FLIGHT} connections": lambda: with_httpx(
                    url, ca, requests, http2=False, pool=IN_FLIGHT
                ),
                "httpx HTTP/1.1, 4 connections": lambda: with_httpx(
                    url, ca, requests, http2=False, pool=4
                ),
                "httpx HTTP/2, 1 connection": lambda: with_httpx(
                    url, ca, requests, http2=True, pool=IN_FLIGHT
                ),
                "bare h2, 1 connection": lambda: with_bare_h2(port, ca, requests),
                "Herald H2Client, 1 connection": lambda: with_herald(url, ca, requests),
                "Herald H2Client, Web Push headers": lambda: with_herald(
                    url, ca, requests, webpush=True
                ),
            }
            for name, case in cases.items():
                wall, cpu = asyncio.run(case())
                print(
                    f"{name:34s} {requests / wall:7.0f} req/s   "
                    f"client CPU {cpu / requests * 1e6:5.0f} µs/request"
                )
        finally:
            server.terminate()
            server.wait()
    return 0


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


if __name__ == "__main__":
    raise SystemExit(main())
