"""The dispatcher's HTTP/2 client against hypercorn: multiplexing past the flow-control window,
GOAWAY, servers without h2, cancelled requests, refused connections, and whom it trusts."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config

from services.dispatcher.transport import ConnectionFailed, H2Client, HttpxSender, create_sender
from services.emulators.tls import LocalCa, create_ca
from shared.embedded.ports import free_port

pytestmark = pytest.mark.integration


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers with the body's length and the HTTP version; ``/slow`` first waits a while."""
    if scope["type"] != "http":
        return
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    if scope["path"] == "/slow":
        await asyncio.sleep(2)
    headers = [(b"x-http-version", scope["http_version"].encode())]
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    await send({"type": "http.response.body", "body": str(size).encode()})


@asynccontextmanager
async def server(
    folder: Path, *, alpn: list[str] | None = None, max_requests: int = 10**6
) -> AsyncIterator[tuple[str, LocalCa]]:
    ca = create_ca(folder)
    files = ca.issue_server(folder)
    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.certfile, config.keyfile = str(files.cert), str(files.key)
    config.alpn_protocols = alpn or ["h2", "http/1.1"]
    config.keep_alive_max_requests = max_requests
    config.keep_alive_timeout = 0.5
    config.accesslog = None
    stop = asyncio.Event()
    task = asyncio.create_task(serve(echo, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    await asyncio.sleep(0.3)
    try:
        yield f"https://127.0.0.1:{port}", ca
    finally:
        stop.set()
        await task


def client(ca: LocalCa) -> H2Client:
    tls = ssl.create_default_context(cafile=str(ca.cert_path))
    fallback_tls = ssl.create_default_context(cafile=str(ca.cert_path))
    fallback = HttpxSender(httpx.AsyncClient(verify=fallback_tls, trust_env=False))
    return H2Client(tls, connect_timeout=5, fallback=fallback)


async def test_hundreds_of_requests_share_one_connection_past_the_window(tmp_path: Path) -> None:
    async with server(tmp_path) as (url, ca):
        subject = client(ca)
        body = b"x" * 4000
        try:
            replies = await asyncio.gather(
                *(subject.post(f"{url}/send", {"a": "b"}, body) for _ in range(300))
            )
        finally:
            await subject.aclose()

    assert {(r.status, r.body, r.headers["x-http-version"]) for r in replies} == {
        (201, b"4000", "2")
    }


async def test_requests_the_server_stops_serving_fail_retryably_then_a_new_connection_serves(
    tmp_path: Path,
) -> None:
    async with server(tmp_path, max_requests=5) as (url, ca):
        subject = client(ca)
        outcomes: list[str] = []

        async def until_delivered() -> None:
            for _ in range(10):
                try:
                    reply = await subject.post(f"{url}/send", {}, b"{}")
                except ConnectionFailed:
                    outcomes.append("retry")
                    continue
                outcomes.append(str(reply.status))
                return
            raise AssertionError("never delivered")

        try:
            for _ in range(4):
                await asyncio.gather(*(until_delivered() for _ in range(5)))
        finally:
            await subject.aclose()

    assert outcomes.count("201") == 20


async def test_a_server_without_h2_is_reached_over_http_1_1(tmp_path: Path) -> None:
    async with server(tmp_path, alpn=["http/1.1"]) as (url, ca):
        subject = client(ca)
        try:
            first = await subject.post(f"{url}/send", {}, b"abc")
            second = await subject.post(f"{url}/send", {}, b"abcd")
        finally:
            await subject.aclose()

    assert (first.body, first.headers["x-http-version"]) == (b"3", "1.1")
    assert second.body == b"4"


async def test_a_request_given_up_on_frees_its_stream_and_the_connection_lives_on(
    tmp_path: Path,
) -> None:
    async with server(tmp_path) as (url, ca):
        subject = client(ca)
        try:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.3):
                    await subject.post(f"{url}/slow", {}, b"{}")
            reply = await subject.post(f"{url}/send", {}, b"{}")
        finally:
            await subject.aclose()

    assert reply.status == 201


async def test_a_refused_connection_is_a_connection_failure(tmp_path: Path) -> None:
    subject = client(create_ca(tmp_path))
    try:
        with pytest.raises(ConnectionFailed, match="cannot connect"):
            await subject.post(f"https://127.0.0.1:{free_port()}/send", {}, b"{}")
    finally:
        await subject.aclose()


@pytest.mark.parametrize("http2", [True, False], ids=["h2", "http-1.1"])
async def test_a_configured_ca_bundle_is_the_only_trust(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http2: bool
) -> None:
    """A deployment that names a CA bundle trusts nothing else: not the system's store, which here
    (SSL_CERT_FILE, read by OpenSSL and by rustls' native roots alike) holds the server's CA.
    pyreqwest 0.15 fails this: it only adds roots to the system's (issue 19)."""
    async with server(tmp_path / "server") as (url, ca):
        monkeypatch.setenv("SSL_CERT_FILE", str(ca.cert_path))
        monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "no-certificates"))
        configured = create_ca(tmp_path / "configured")
        subject = create_sender(
            http2=http2, ca_bundle=configured.cert_path, timeout=5, max_connections=4
        )
        try:
            with pytest.raises(ConnectionFailed, match="CERTIFICATE_VERIFY_FAILED"):
                await subject.post(f"{url}/send", {}, b"{}")
        finally:
            await subject.aclose()
