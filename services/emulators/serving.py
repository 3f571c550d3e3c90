"""Serve an emulator the way its provider is served: TLS with HTTP/2 (ALPN) on one loopback port,
plain HTTP on another for health checks and inspection. Hypercorn does the HTTP/2.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from hypercorn.asyncio import serve
from hypercorn.config import Config

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Listen:
    """Ports and TLS material of one emulator; ``client_ca`` makes client certificates mandatory."""

    tls_port: int
    http_port: int
    cert_file: Path
    key_file: Path
    client_ca: Path | None = None


def hypercorn_config(listen: Listen) -> Config:
    """A loopback-only configuration; connections are not recycled after 1000 requests."""
    config = Config()
    config.bind = [f"{LOOPBACK}:{listen.tls_port}"]
    config.insecure_bind = [f"{LOOPBACK}:{listen.http_port}"]
    config.certfile = str(listen.cert_file)
    config.keyfile = str(listen.key_file)
    config.alpn_protocols = ["h2", "http/1.1"]
    config.keep_alive_max_requests = 1_000_000
    config.h2_max_concurrent_streams = 1000
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    if listen.client_ca is not None:
        config.ca_certs = str(listen.client_ca)
        config.verify_mode = ssl.CERT_REQUIRED
    return config


async def serve_until(app: FastAPI, listen: Listen, stop: asyncio.Event) -> None:
    """Serve ``app`` until ``stop`` is set."""
    await serve(app, hypercorn_config(listen), shutdown_trigger=stop.wait)  # type: ignore[arg-type]


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
