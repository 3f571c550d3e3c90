"""The HTTP app of a service that serves only probes: /healthz, /readyz, and /metrics (added by
the runtime).

Bare Starlette, not FastAPI: the scheduler, the dispatchers and webhooks have no API. FastAPI with
its OpenAPI models held ~4.5 MB of each of those idle processes, and shared.http's API key checks
(PyJWT, cryptography) ~8 MB more of the scheduler. The answers are shared.http's, byte for byte:
the same bodies, statuses and error shape, and the same body limit.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.health import Readiness
from shared.http_limits import BodyLimit

log = logging.getLogger(__name__)


class GetRoute(Route):
    """A route answering GET only: Starlette adds HEAD to every GET route, FastAPI's routes (and
    so Herald's probes until now) answer HEAD with 405."""

    def __init__(self, path: str, endpoint: Callable[[Request], Awaitable[Response]]) -> None:
        super().__init__(path, endpoint, methods=["GET"], include_in_schema=False)
        self.methods = {"GET"}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """The one error shape of every Herald API (shared.http answers with it too)."""
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"error": error}


async def healthz(_: Request) -> JSONResponse:
    """Liveness: 200 while the process runs."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """200 once the runtime serves and every dependency answered its last probe; 503 with what
    is down otherwise."""
    serving = bool(request.app.state.ready)
    readiness: Readiness | None = request.app.state.readiness
    if readiness is None:
        return JSONResponse({"ready": serving}, status_code=200 if serving else 503)
    status, body = readiness.answer(serving)
    return JSONResponse(body, status_code=status)


async def http_error(_: Request, exc: Exception) -> JSONResponse:
    """404 and 405 in Herald's error shape; shared.http registers it too."""
    if not isinstance(exc, HTTPException):  # registered for HTTPException only
        raise exc
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
    return JSONResponse(
        error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
    )


async def unexpected(_: Request, exc: Exception) -> JSONResponse:
    """A 500 that says nothing of the error; the log has it."""
    log.error("unhandled error", exc_info=exc)
    return JSONResponse(error_body("internal", "internal error"), status_code=500)


def create_health_app() -> Starlette:
    """An app answering /healthz and /readyz; the runtime sets ``state.ready`` and
    ``state.readiness`` and adds /metrics."""
    app = Starlette(
        routes=[
            GetRoute("/healthz", healthz),
            GetRoute("/readyz", readyz),
        ],
        exception_handlers={HTTPException: http_error, Exception: unexpected},
    )
    app.state.ready = False
    app.state.readiness = None
    app.add_middleware(BodyLimit)
    return app
