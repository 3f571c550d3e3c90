"""What every console page shares: templates, the signed-in session, the CSRF check on posts,
the security headers, and the local assets (htmx from its npm package, the stylesheet)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.console.session import (
    COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    Session,
    SessionBox,
    csrf_matches,
)

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
#: Pages load scripts, styles and fonts from the console only; images in previews are not fetched.
SECURITY_HEADERS = {
    b"content-security-policy": b"default-src 'self'; img-src 'self' data:; object-src 'none'; "
    b"base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
    b"cache-control": b"no-store",
}


class SignInNeeded(Exception):
    """No valid session: the page sends the person to the sign-in form."""


class CsrfRefused(Exception):
    """A post without this session's CSRF token."""


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0] not in SECURITY_HEADERS]
                message["headers"] = headers + list(SECURITY_HEADERS.items())
            await send(message)

        await self.app(scope, receive, sending)


def session_of(request: Request) -> Session:
    box: SessionBox = request.app.state.sessions
    session = box.open(request.cookies.get(COOKIE))
    if session is None:
        raise SignInNeeded
    return session


async def checked_form(request: Request, session: Session) -> dict[str, str]:
    """The posted form, once its CSRF token (field or htmx header) matches the session's."""
    form = await request.form()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    presented = fields.pop(CSRF_FIELD, None) or request.headers.get(CSRF_HEADER)
    if not csrf_matches(session, presented):
        raise CsrfRefused
    return fields


def page(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)


def go(request: Request, url: str) -> Response:
    """Redirect a plain request (303) or an htmx one (HX-Redirect)."""
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def add_shared(app: FastAPI, htmx_file: Path) -> None:
    """Assets and the answers to a missing session or a refused post."""
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(SignInNeeded)
    async def sign_in(request: Request, _: SignInNeeded) -> Response:
        return go(request, "/signin")

    @app.exception_handler(CsrfRefused)
    async def refused(request: Request, _: CsrfRefused) -> Response:
        return page(request, "error.html", {"message": "The form expired: reload the page."}, 403)

    @app.get("/assets/htmx.min.js", include_in_schema=False)
    async def htmx() -> FileResponse:
        return FileResponse(htmx_file, media_type="text/javascript")

    @app.get("/assets/console.css", include_in_schema=False)
    async def stylesheet() -> FileResponse:
        return FileResponse(HERE / "static" / "console.css", media_type="text/css")
