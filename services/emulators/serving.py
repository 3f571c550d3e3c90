"""Serve an emulator the way its provider is served: TLS with HTTP/2 (ALPN h2) on one loopback
port, plain HTTP on another for health checks and inspection. The provider port is Herald's own
small HTTP/2 server (h2_server.py); Hypercorn serves the plain port.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI
from hypercorn.asyncio import serve
from hypercorn.config import Config

from services.emulators.connection_faults import add_connection_fault_routes
from services.emulators.h2_server import FlowWindows, H2Server

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Listen:
    """Ports and TLS material of one emulator; ``client_ca`` makes client certificates mandatory;
    ``windows`` are the provider port's HTTP/2 flow-control windows."""

    tls_port: int
    http_port: int
    cert_file: Path
    key_file: Path
    client_ca: Path | None = None
    windows: FlowWindows = field(default_factory=FlowWindows)


def hypercorn_config(listen: Listen) -> Config:
    """The plain inspection port, loopback only."""
    config = Config()
    config.bind = [f"{LOOPBACK}:{listen.http_port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    return config


def provider_tls(listen: Listen) -> ssl.SSLContext:
    """The provider port's TLS: the emulator's certificate, client certificates when asked for."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(listen.cert_file, listen.key_file)
    if listen.client_ca is not None:
        context.load_verify_locations(listen.client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


async def serve_until(app: FastAPI, listen: Listen, stop: asyncio.Event) -> None:
    """Serve ``app`` on both ports until ``stop`` is set."""
    provider = H2Server(app, provider_tls(listen), listen.windows)
    add_connection_fault_routes(app, provider)
    await provider.start(LOOPBACK, listen.tls_port)
    try:
        await serve(app, hypercorn_config(listen), shutdown_trigger=stop.wait)  # type: ignore[arg-type]
    finally:
        await provider.close()


def run(app: FastAPI, listen: Listen) -> int:
    """The body of an emulator's ``__main__``: serve until SIGTERM or SIGINT."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve_until(app, listen, stop)

    asyncio.run(main())
    return 0
