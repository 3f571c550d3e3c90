"""Provider routes served without FastAPI's routing, dependency injection and exception layers.

An emulator shares the benchmark machine with the dispatcher it answers, so its cost per request
is part of every end-to-end figure: through the full FastAPI stack the provider route cost more
CPU than the dispatcher sending to it. The send routes are therefore matched here, innermost in the
app's middleware (inside the request body limit), and called with a plain Starlette request; the
inspection and control routes stay ordinary FastAPI routes.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: An endpoint gets the request and the path's named groups; it answers every error itself.
Endpoint = Callable[..., Awaitable[Response]]


@dataclass(frozen=True)
class FastRoute:
    """``method`` requests whose whole path matches ``path`` (named groups become arguments)."""

    method: str
    path: re.Pattern[str]
    endpoint: Endpoint

    def match(self, scope: Scope) -> dict[str, str] | None:
        if scope["method"] != self.method:
            return None
        found = self.path.fullmatch(scope["path"])
        return None if found is None else found.groupdict()


class _FastRoutes:
    """ASGI middleware: the first matching route answers, anything else goes on to FastAPI."""

    def __init__(self, app: ASGIApp, routes: Sequence[FastRoute]) -> None:
        self.app = app
        self.routes = tuple(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self.routes:
                params = route.match(scope)
                if params is not None:
                    body = await _whole_body(receive)
                    response = await route.endpoint(Request(scope, _replay(body)), **params)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


async def _whole_body(receive: Receive) -> bytes:
    """The request body (the app's body limit, outside this middleware, bounds it)."""
    parts = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def _replay(body: bytes) -> Receive:
    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def add_fast_routes(app: FastAPI, *routes: FastRoute) -> None:
    """Serve ``routes`` ahead of the app's own, inside its other middleware."""
    app.user_middleware.append(Middleware(_FastRoutes, routes=routes))
