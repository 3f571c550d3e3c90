"""Client CPU per request of the ways a dispatcher could POST to a provider over TLS:
httpx HTTP/1.1 (a pool of connections), httpx HTTP/2 (one multiplexed connection), the least an
h2-library client does (on h2, and on jh2 whose HPACK is native), Herald's own
(services/dispatcher/transport, what the FCM and Web Push dispatchers use), and three clients whose
HTTP/2 and TLS are native code: pyreqwest and rnet (Rust: hyper, tokio), curl-cffi (libcurl).

``python -m tests.benchmarks.http_clients [N] [--in-flight 32 64 256] [--rounds R]
[--only NAME ...] [--webpush] [--goaway-every K]`` runs N requests per measurement, each in-flight
count in turn and every chosen way once per round (interleaved, as the machine is noisy), and
prints the client's CPU per request, requests per second and what the server saw (requests and
connections by HTTP version). The server runs in another process, so the CPU time measured is
the client's alone; a native client's own threads count too (process CPU time). With
``--goaway-every K`` the server closes each connection after K requests, and the run counts the
requests that failed for it instead of stopping (a dispatcher would retry those; Herald's client
resends the unprocessed ones itself).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import curl_cffi
import h2.config
import h2.connection
import h2.events
import httpx
import jh2.config
import jh2.connection
import jh2.events
import pyreqwest.client
import rnet

from services.dispatcher.transport import H2Client, HttpxSender, Response
from shared.embedded.ports import free_port

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
#: What a Web Push request carries: a long VAPID authorization and a path per subscription.
WEBPUSH_HEADERS = {
    "authorization": f"vapid t={'x' * 250}, k={'y' * 87}",
    "ttl": "2419200",
    "content-encoding": "aes128gcm",
    "content-type": "application/octet-stream",
}
#: Each request's own deadline, as the dispatchers give one.
TIMEOUT = 10

Send = Callable[[], Awaitable[None]]
#: Wall seconds, client CPU seconds, and the requests that failed by exception type.
Figures = tuple[float, float, Counter[str]]


@dataclass(frozen=True)
class Target:
    """The server, what to send it and how many requests at a time."""

    url: str
    port: int
    ca: Path
    requests: int
    in_flight: int
    webpush: bool
    goaway: bool
    sent: itertools.count[int]

    def next(self) -> tuple[str, str, Mapping[str, str]]:
        """The next request's absolute URL, its path and its headers."""
        if self.webpush:
            path = f"/push/s-{next(self.sent)}"
            return self.url + path, path, WEBPUSH_HEADERS
        return self.url + PATH, PATH, HEADERS


def reply(status: int, headers: Mapping[str, str], body: bytes) -> Response:
    """What a dispatcher needs of a reply; every native client is made to build it, as an
    adapter behind services/dispatcher/transport would."""
    if status != 200:
        raise AssertionError(f"status {status}")
    return Response(status, {k.lower(): v for k, v in headers.items()}, body)


async def measure(send: Send, target: Target) -> Figures:
    """The target's requests, in_flight at a time; failures stop the run unless the server is
    told to close connections (then each is counted, and bounded by TIMEOUT)."""
    for _ in range(50):
        await send()
    slots = asyncio.Semaphore(target.in_flight)
    failed: Counter[str] = Counter()

    async def one() -> None:
        async with slots:
            if not target.goaway:
                await send()
                return
            try:
                async with asyncio.timeout(TIMEOUT):
                    await send()
            except Exception as exc:  # counted and printed: the point of this mode
                failed[type(exc).__name__] += 1

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one() for _ in range(target.requests)))
    return time.perf_counter() - wall, time.process_time() - cpu, failed


async def with_httpx(target: Target, *, http2: bool, pool: int) -> Figures:
    context = ssl.create_default_context(cafile=str(target.ca))
    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    async with httpx.AsyncClient(
        http2=http2, verify=context, limits=limits, trust_env=False
    ) as client:

        async def send() -> None:
            url, _, headers = target.next()
            response = await client.post(url, content=BODY, headers=headers)
            assert response.status_code == 200

        return await measure(send, target)


class _BareH2(asyncio.Protocol):
    """The least an HTTP/2 client does: streams, flow-control credit, responses by stream id.
    ``library`` is h2 or jh2 (the same interface). It never waits for the server's window, so it
    fails once the requests in flight outgrow 64 KiB (about 200 of these)."""

    def __init__(self, library: ModuleType) -> None:
        config = library.config.H2Configuration(client_side=True, header_encoding=None)
        self.conn = library.connection.H2Connection(config)
        self.events = library.events
        self.pending: dict[int, asyncio.Future[None]] = {}
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's is not an instance
        self.conn.initiate_connection()
        self.transport.write(self.conn.data_to_send())

    def data_received(self, data: bytes) -> None:
        for event in self.conn.receive_data(data):
            if isinstance(event, self.events.DataReceived) and event.stream_id is not None:
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, self.events.StreamEnded) and event.stream_id is not None:
                self.pending.pop(event.stream_id).set_result(None)
        assert self.transport is not None
        self.transport.write(self.conn.data_to_send())

    def post(self, path: str, headers: Mapping[str, str]) -> asyncio.Future[None]:
        stream = self.conn.get_next_available_stream_id()
        done = asyncio.get_running_loop().create_future()
        self.pending[stream] = done
        pseudo = [(":method", "POST"), (":scheme", "https"), (":authority", "127.0.0.1")]
        self.conn.send_headers(stream, [*pseudo, (":path", path), *headers.items()])
        self.conn.send_data(stream, BODY, end_stream=True)
        assert self.transport is not None
        self.transport.write(self.conn.data_to_send())
        return done


async def with_bare(target: Target, library: ModuleType) -> Figures:
    context = ssl.create_default_context(cafile=str(target.ca))
    context.set_alpn_protocols(["h2"])
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_connection(
        lambda: _BareH2(library), "127.0.0.1", target.port, ssl=context
    )

    async def send() -> None:
        _, path, headers = target.next()
        await client.post(path, headers)

    try:
        return await measure(send, target)
    finally:
        transport.close()


async def with_herald(target: Target) -> Figures:
    tls = ssl.create_default_context(cafile=str(target.ca))
    fallback = HttpxSender(
        httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(target.ca)))
    )
    client = H2Client(tls, connect_timeout=5, fallback=fallback)

    async def send() -> None:
        url, _, headers = target.next()
        async with asyncio.timeout(TIMEOUT):
            response = await client.post(url, headers, BODY)
        assert response.status == 200

    try:
        return await measure(send, target)
    finally:
        await client.aclose()


async def with_pyreqwest(target: Target) -> Figures:
    """hyper's HTTP/2 over rustls on a tokio runtime thread; h2 chosen by ALPN."""
    builder = pyreqwest.client.ClientBuilder().http2(True).follow_redirects(False)
    async with builder.add_root_certificate_pem(target.ca.read_bytes()).build() as client:
        deadline = timedelta(seconds=TIMEOUT)

        async def send() -> None:
            url, _, headers = target.next()
            request = client.post(url).headers(headers).body_bytes(BODY).timeout(deadline)
            response = await request.build().send()
            body = (await response.bytes()).to_bytes()
            reply(response.status, response.headers, body)

        return await measure(send, target)


async def with_rnet(target: Target) -> Figures:
    """hyper's HTTP/2 (a fork) over BoringSSL on tokio; h2 chosen by ALPN."""
    client = rnet.Client(verify=target.ca, allow_redirects=False, no_proxy=True)

    async def send() -> None:
        url, _, headers = target.next()
        response = await client.post(url, headers=dict(headers), body=BODY, timeout=TIMEOUT)
        body = await response.bytes()
        items = filter(None, response.headers.items())  # typed Optional, never None
        pairs = {k.decode(): (v or b"").decode() for k, v in items}
        reply(response.status, pairs, body)

    return await measure(send, target)


async def with_curl(target: Target) -> Figures:
    """libcurl's multi interface on the asyncio loop; PIPEWAIT makes every transfer wait for the
    one connection's HTTP/2 instead of opening more."""
    async with curl_cffi.AsyncSession(
        max_clients=target.in_flight,
        http_version="v2tls",
        curl_options={curl_cffi.CurlOpt.PIPEWAIT: 1},
        trust_env=False,
        allow_redirects=False,
    ) as session:
        ca = str(target.ca)

        async def send() -> None:
            url, _, headers = target.next()
            response = await session.post(
                url, headers=dict(headers), data=BODY, timeout=TIMEOUT, verify=ca
            )
            reply(response.status_code, dict(response.headers), response.content)

        return await measure(send, target)


Way = Callable[[Target], Coroutine[Any, Any, Figures]]


def ways(in_flight: int) -> dict[str, Way]:
    return {
        f"httpx HTTP/1.1, {in_flight} connections": lambda t: with_httpx(
            t, http2=False, pool=in_flight
        ),
        "httpx HTTP/1.1, 4 connections": lambda t: with_httpx(t, http2=False, pool=4),
        "httpx HTTP/2": lambda t: with_httpx(t, http2=True, pool=in_flight),
        "bare h2": lambda t: with_bare(t, h2),
        "bare jh2": lambda t: with_bare(t, jh2),
        "Herald H2Client": with_herald,
        "pyreqwest": with_pyreqwest,
        "rnet": with_rnet,
        "curl-cffi": with_curl,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("requests", type=int, nargs="?", default=3000)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[32])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--only", nargs="+", help="ways whose name contains one of these")
    parser.add_argument("--webpush", action="store_true", help="Web Push headers and paths")
    parser.add_argument("--goaway-every", type=int, help="server closes connections after K")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "tests.benchmarks.http_server", str(port), folder]
        if args.goaway_every:
            command.append(str(args.goaway_every))
        server = subprocess.Popen(
            command,
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
            for in_flight, round_ in itertools.product(args.in_flight, range(args.rounds)):
                chosen = {
                    name: way
                    for name, way in ways(in_flight).items()
                    if not args.only or any(o.lower() in name.lower() for o in args.only)
                }
                for name, way in chosen.items():
                    target = Target(
                        url,
                        port,
                        ca,
                        args.requests,
                        in_flight,
                        args.webpush,
                        bool(args.goaway_every),
                        itertools.count(),
                    )
                    wall, cpu, failed = asyncio.run(way(target))
                    seen = _seen(url, ca)
                    print(
                        f"{in_flight:4d} in flight  round {round_ + 1}  {name:34s}"
                        f" {args.requests / wall:7.0f} req/s   client CPU"
                        f" {cpu / args.requests * 1e6:5.0f} µs/request   server saw {seen}"
                        + (f"   failed {dict(failed)}" if failed else ""),
                        flush=True,
                    )
        finally:
            server.terminate()
            server.wait()
    return 0


def _seen(url: str, ca: Path) -> str:
    """What the server saw since the last call: requests and connections per HTTP version."""
    context = ssl.create_default_context(cafile=str(ca))
    stats = httpx.get(url + "/stats", verify=context, trust_env=False).json()
    return ", ".join(
        f"HTTP/{version} {s['requests']} requests on {s['connections']} connection(s)"
        for version, s in stats.items()
    )


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


if __name__ == "__main__":
    raise SystemExit(main())
