"""The narrow interface the FCM and Web Push providers POST through, and its HTTP/1.1 side."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx


class ConnectionFailed(Exception):
    """No reply came: the connection failed, was closed, or the request timed out. Retry it."""


class NotProcessed(ConnectionFailed):
    """The server refused the request before processing any of it (GOAWAY naming a lower last
    stream, RST_STREAM REFUSED_STREAM, a connection already closing; RFC 9113 8.7): it may go
    again at once, on a usable connection, as if it had never been sent."""


@dataclass(frozen=True)
class Response:
    """A provider's reply; header names are lower-case."""

    status: int
    headers: dict[str, str]
    body: bytes


class Sender(Protocol):
    """POSTs a body to an absolute URL and returns the reply, or raises ConnectionFailed."""

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> Response: ...

    async def aclose(self) -> None: ...


class HttpxSender:
    """HTTP/1.1 (keep-alive, pooled) through httpx."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> Response:
        try:
            reply = await self._client.post(url, headers=dict(headers), content=body)
        except httpx.RequestError as exc:
            raise ConnectionFailed(f"{type(exc).__name__}: {exc}") from None
        return Response(
            reply.status_code, {k.lower(): v for k, v in reply.headers.items()}, reply.content
        )

    async def aclose(self) -> None:
        await self._client.aclose()


def tls_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """Verify servers against ``ca_bundle`` (or the system's trust store)."""
    return ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)
