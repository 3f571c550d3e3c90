"""HTTP plumbing every service shares: health endpoints, API-key auth and uniform error bodies.

Every error answer is ``{"error": {"code", "message", "field"?}}`` so clients handle one shape.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from contracts.apps import Scope
from contracts.unknown_fields import described
from shared import health_app
from shared.api_docs import add_api_docs
from shared.errors import RETRYABLE
from shared.health_app import error_body
from shared.http_limits import BodyLimit
from shared.ratelimit import RateLimiter, retry_after_header
from shared.telemetry import instrument_http
from shared.tenancy.callers import Authenticator, Caller

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with an HTTP status, a machine-readable code and a human message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers


def create_http_app(*, title: str, description: str, version: str = "1") -> FastAPI:
    """A FastAPI app with /healthz, /readyz, API docs served offline (/docs, /redoc), Herald's
    error handlers and, when tracing is on, a span per request.

    /healthz answers 200 while the process runs (liveness). /readyz answers 200 only once the
    runtime serves and, when the runtime set ``state.readiness``, every dependency answered its
    last probe; 503 with what is down otherwise.
    """
    app = FastAPI(
        title=title, description=description, version=version, docs_url=None, redoc_url=None
    )
    add_api_docs(app)
    app.state.ready = False
    app.state.readiness = None
    app.add_middleware(BodyLimit)

    app.add_api_route("/healthz", health_app.healthz, methods=["GET"], tags=["health"])
    app.add_api_route("/readyz", health_app.readyz, methods=["GET"], tags=["health"])

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.field),
            status_code=exc.status,
            headers=exc.headers,
        )

    app.add_exception_handler(StarletteHTTPException, health_app.http_error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {**item, "loc": [part for part in item.get("loc", ()) if part != "body"]}
            for item in exc.errors()
        ]
        problems = described(errors, _body_model(request), whole="(body)")
        message = "; ".join(f"{field}: {msg}" for field, msg in problems)
        field = problems[0][0] if problems else None
        return JSONResponse(error_body("invalid_request", message, field), status_code=422)

    async def unavailable(_: Request, exc: Exception) -> JSONResponse:
        log.warning("dependency unavailable: %s: %s", type(exc).__name__, exc)
        return JSONResponse(
            error_body("unavailable", "a dependency is briefly unavailable; retry shortly"),
            status_code=503,
            headers={"Retry-After": "1"},
        )

    # Registered per class, these are answered inside the app; a handler for Exception runs in
    # Starlette's outermost middleware, which re-raises so the server logs a traceback as well.
    for kind in RETRYABLE:
        app.add_exception_handler(kind, unavailable)

    app.add_exception_handler(Exception, health_app.unexpected)

    instrument_http(app)
    return app


def _body_model(request: Request) -> type[BaseModel] | None:
    """The model of the body the matched route takes, to explain an unknown field in it."""
    route = request.scope.get("route")
    body = route.body_field if isinstance(route, APIRoute) else None
    model = body.field_info.annotation if body is not None else None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


_bearer = HTTPBearer(
    auto_error=False, description="A server API key of the app, or a user token it signed."
)


def authorize(
    authenticator: Authenticator,
    limiter: RateLimiter,
    scope: Scope,
    *,
    users: bool = False,
) -> Callable[..., Any]:
    """A FastAPI dependency: the Caller, if its credential is valid, allowed here and not flooding.

    ``users``: whether a user token may call the route at all (it then acts only for its user;
    routes check that with ``Caller.require_user``).
    """
    who = "a server API key" + (" or a user token" if users else "")

    async def authorized_caller(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Caller:
        caller = authenticator.identify(credentials.credentials if credentials else "")
        if caller is None:
            raise ApiError(
                401,
                "unauthorized",
                f"{who} is required (Authorization: Bearer <credential>)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if caller.user_id is not None and not users:
            raise ApiError(
                403, "forbidden", f"this route needs a server API key with scope {scope}"
            )
        if not caller.may(scope):
            raise ApiError(403, "insufficient_scope", f"this API key lacks the scope {scope}")
        wait = limiter.take(caller.credential, user=caller.user_id is not None)
        if wait is not None:
            raise ApiError(
                429,
                "rate_limited",
                "too many requests with this credential; slow down",
                headers={"Retry-After": retry_after_header(wait)},
            )
        return caller

    return authorized_caller


def require_user(caller: Caller, user_id: str) -> None:
    """Refuse, as if ``user_id`` did not exist, a user token acting for somebody else."""
    if caller.user_id is not None and caller.user_id != user_id:
        raise ApiError(404, "not_found", f"no user {user_id!r}", field="user_id")


def app_of(authorized: Callable[..., Any]) -> Callable[..., Any]:
    """A dependency answering just the caller's app id, for routes that need nothing more."""

    async def caller_app(caller: Caller = Depends(authorized)) -> str:  # noqa: B008 - FastAPI
        return caller.app_id

    return caller_app
