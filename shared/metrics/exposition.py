"""``/metrics`` on a service's HTTP port, and the HTTP request instruments behind it.

Requests are labelled by route template (``/v1/users/{user_id}/reads``), never by the path a
client sent, so user and device ids never become label values.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.exposition import generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.health_app import GetRoute

REQUESTS = Counter(
    "herald_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
DURATION = Histogram(
    "herald_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
IN_FLIGHT = Gauge("herald_http_requests_in_flight", "HTTP requests being answered now.")

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


def route_label(scope: Scope) -> str:
    """The template of the route that answered, or ``unmatched`` (a 404, say)."""
    route: Any = scope.get("route")
    path = getattr(route, "path_format", None)
    return path if isinstance(path, str) else UNMATCHED


def method_label(method: str) -> str:
    """The method, or ``other`` for anything a client made up."""
    return method if method in METHODS else "other"


class HttpMeter:
    """ASGI middleware that counts and times every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        start = time.perf_counter()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, sending)
        finally:
            IN_FLIGHT.dec()
            method, route = method_label(scope["method"]), route_label(scope)
            REQUESTS.labels(method=method, route=route, status=str(status)).inc()
            DURATION.labels(method=method, route=route).observe(time.perf_counter() - start)


def expose_metrics(app: Starlette) -> None:
    """Serve the process's metrics at ``/metrics`` and meter every request of ``app`` (a FastAPI
    app or a bare Starlette one: the route is Starlette's, so neither needs the other).

    Counters' ``_created`` series are left out: they double the series and no panel reads them.
    """
    disable_created_metrics()  # type: ignore[no-untyped-call]  # unannotated in 0.26
    app.add_middleware(HttpMeter)
    app.router.routes.append(GetRoute("/metrics", metrics))


async def metrics(_: Request) -> Response:
    """The default registry in Prometheus' text format."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
