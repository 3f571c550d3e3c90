"""HTTP plumbing every service shares: health endpoints, API-key auth and uniform error bodies.

Every error answer is ``{"error": {"code", "message", "field"?}}`` so clients handle one shape.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.auth import KEY_PREFIX, ApiKeys, UserTokens
from shared.errors import RETRYABLE

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


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """The one error shape of every Herald API."""
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"error": error}


def create_http_app(*, title: str, description: str, version: str = "1") -> FastAPI:
    """A FastAPI app with /healthz, /readyz and Herald's error handlers."""
    app = FastAPI(title=title, description=description, version=version)
    app.state.ready = False

    @app.get("/healthz", tags=["health"], include_in_schema=True)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz(request: Request) -> JSONResponse:
        ready = bool(request.app.state.ready)
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.field),
            status_code=exc.status,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for item in exc.errors():
            loc = [str(part) for part in item.get("loc", ()) if part != "body"]
            problems.append((".".join(loc) or "(body)", str(item.get("msg", "invalid"))))
        message = "; ".join(f"{field}: {msg}" for field, msg in problems)
        field = problems[0][0] if problems else None
        return JSONResponse(error_body("invalid_request", message, field), status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, RETRYABLE):
            log.warning("dependency unavailable: %s", exc)
            return JSONResponse(
                error_body("unavailable", "a dependency is briefly unavailable; retry shortly"),
                status_code=503,
                headers={"Retry-After": "1"},
            )
        log.error("unhandled error", exc_info=exc)
        return JSONResponse(error_body("internal", "internal error"), status_code=500)

    return app


_bearer = HTTPBearer(auto_error=False, description="A server API key of the app.")


def app_key_auth(keys: ApiKeys) -> Callable[..., Any]:
    """A FastAPI dependency returning the app id a request's bearer key belongs to."""

    async def authenticated_app(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> str:
        app_id = keys.app_for(credentials.credentials) if credentials else None
        if app_id is None:
            raise ApiError(
                401,
                "unauthorized",
                "a valid API key is required (Authorization: Bearer <key>)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return app_id

    return authenticated_app


@dataclass(frozen=True)
class Caller:
    """Who is calling: an app's server (``user_id`` None, may act for any of its users) or one
    signed-in user of an app (may act only for themself)."""

    app_id: str
    user_id: str | None

    def require_user(self, user_id: str) -> None:
        """Refuse, as if ``user_id`` did not exist, a user token acting for somebody else."""
        if self.user_id is not None and self.user_id != user_id:
            raise ApiError(404, "not_found", f"no user {user_id!r}", field="user_id")


def caller_auth(keys: ApiKeys, tokens: UserTokens) -> Callable[..., Any]:
    """A FastAPI dependency accepting either a server API key or a user token (Bearer)."""

    async def authenticated_caller(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Caller:
        presented = credentials.credentials if credentials else ""
        if presented.startswith(KEY_PREFIX):
            app_id = keys.app_for(presented)
            if app_id is not None:
                return Caller(app_id=app_id, user_id=None)
        elif presented:
            identity = tokens.verify(presented)
            if identity is not None:
                return Caller(app_id=identity.app_id, user_id=identity.user_id)
        raise ApiError(
            401,
            "unauthorized",
            "a valid API key or user token is required (Authorization: Bearer <credential>)",
            headers={"WWW-Authenticate": "Bearer"},
        )

    return authenticated_caller
