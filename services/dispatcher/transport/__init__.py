"""How the FCM and Web Push providers POST to a provider: one narrow interface, two transports.

HTTP/2 over TLS goes through http2.py (the h2 library on asyncio); plain http, and servers that do
not offer HTTP/2, go through httpx over HTTP/1.1. ``python -m tests.benchmarks.http_clients``
measures them.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from services.dispatcher.transport.base import (
    ConnectionFailed,
    HttpxSender,
    Response,
    Sender,
    tls_context,
)
from services.dispatcher.transport.http2 import H2Client

__all__ = ["ConnectionFailed", "H2Client", "HttpxSender", "Response", "Sender", "create_sender"]


def create_sender(
    *, http2: bool, ca_bundle: Path | None, timeout: float, max_connections: int
) -> Sender:
    """HTTP/2 with an HTTP/1.1 fallback when ``http2``, else HTTP/1.1 alone."""
    fallback = HttpxSender(
        httpx.AsyncClient(
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            verify=tls_context(ca_bundle),
            trust_env=False,
            follow_redirects=False,
        )
    )
    if not http2:
        return fallback
    return H2Client(tls_context(ca_bundle), connect_timeout=timeout, fallback=fallback)
