"""Sign-in, compose (live preview, send, send to a test device) and notifications (list, a
notification's counts and per-user timeline, cancel)."""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, Response

from services.console import compose
from services.console.preview import preview
from services.console.session import COOKIE, Session, SessionBox, new_session, plausible_key
from services.console.upstream import Upstream, UpstreamError, segment
from services.console.web import checked_form, go, page, session_of
from shared.clock import Clock

PRE_COOKIE = "herald_console_signin"
OPERATOR_KEY = (
    "That is an operator key: the console signs in with one of an app's keys (one with the "
    "admin scope also manages the app's keys and credentials)."
)
Signed = Annotated[Session, Depends(session_of)]


def add_pages(app: FastAPI, upstream: Upstream, clock: Clock, cookie_max_age: int) -> None:
    """Mount the sign-in, compose and notification pages on ``app``."""

    def set_session(response: Response, request: Request, session: Session) -> None:
        box: SessionBox = request.app.state.sessions
        response.set_cookie(
            COOKIE,
            box.seal(session),
            max_age=cookie_max_age,
            httponly=True,
            samesite="strict",
            secure=request.app.state.secure_cookie,
            path="/",
        )

    @app.get("/", include_in_schema=False)
    async def home(request: Request) -> Response:
        return go(request, "/compose")

    @app.get("/signin", response_class=HTMLResponse, include_in_schema=False)
    async def signin_form(request: Request, error: str | None = None) -> Response:
        token = secrets.token_urlsafe(24)
        response = page(request, "signin.html", {"pre": token, "error": error})
        response.set_cookie(
            PRE_COOKIE, token, max_age=600, httponly=True, samesite="strict", path="/signin"
        )
        return response

    @app.post("/signin", include_in_schema=False)
    async def signin(
        request: Request, api_key: Annotated[str, Form()], pre: Annotated[str, Form()]
    ) -> Response:
        expected = request.cookies.get(PRE_COOKIE, "")
        if not expected or not secrets.compare_digest(expected, pre):
            return page(request, "error.html", {"message": "Reload the sign-in page."}, 403)
        key = api_key.strip()
        if not plausible_key(key):
            return page(request, "signin.html", {"pre": pre, "error": "Unknown key."}, 401)
        try:
            await upstream.get("tracker", "/v1/notifications/recent?limit=1", key)
        except UpstreamError as error:
            message = error.message
            if error.status == 401:
                message = OPERATOR_KEY if await _is_operator(upstream, key) else "Unknown key."
            return page(request, "signin.html", {"pre": pre, "error": message}, 401)
        app_id = await _app_of(upstream, key)
        response = go(request, "/compose")
        set_session(response, request, new_session(key, app_id))
        response.delete_cookie(PRE_COOKIE, path="/signin")
        return response

    @app.post("/signout", include_in_schema=False)
    async def signout(request: Request, session: Signed) -> Response:
        await checked_form(request, session)
        response = go(request, "/signin")
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.get("/compose", response_class=HTMLResponse, include_in_schema=False)
    async def compose_page(request: Request, session: Signed) -> Response:
        return page(request, "compose.html", _compose_context(session, {}))

    @app.post("/compose/preview", response_class=HTMLResponse, include_in_schema=False)
    async def compose_preview(request: Request, session: Signed) -> Response:
        form = await checked_form(request, session)
        try:
            sent = compose.parse(form)
        except compose.FormProblem as problem:
            return page(request, "_preview.html", {"problems": problem.problems})
        shown = preview(sent, form.get("preview_locale") or None, clock.now())
        return page(request, "_preview.html", {"preview": shown, "problems": []})

    @app.post("/compose/send", include_in_schema=False)
    async def send(request: Request, session: Signed) -> Response:
        form = await checked_form(request, session)
        try:
            sent = compose.parse(form)
            body = sent.model_dump(mode="json")
            if form.get("target") == "test":
                body = compose.for_test_device(sent, form.get("test_device", ""))
            accepted = await upstream.call(
                "ingest", "POST", "/v1/notifications", session.api_key, body
            )
        except compose.FormProblem as problem:
            context = _compose_context(session, form, problems=problem.problems)
            return page(request, "compose.html", context, 422)
        except UpstreamError as error:
            problems = [compose.Problem(error.field or "(request)", error.message)]
            context = _compose_context(session, form, problems=problems)
            return page(request, "compose.html", context, 422)
        user = sent.audience.user_ids[0] if sent.audience.user_ids else ""
        follow = f"/notifications/{accepted['notification_id']}"
        return go(request, f"{follow}?user={segment(user)}" if user else follow)

    @app.get("/notifications", response_class=HTMLResponse, include_in_schema=False)
    async def notifications(request: Request, session: Signed) -> Response:
        listed = await upstream.get("tracker", "/v1/notifications/recent?limit=50", session.api_key)
        return page(request, "notifications.html", _base(session, listed))

    @app.get(
        "/notifications/{notification_id}", response_class=HTMLResponse, include_in_schema=False
    )
    async def notification(
        request: Request,
        notification_id: uuid.UUID,
        session: Signed,
        user: str = "",
        cancelled: str = "",
    ) -> Response:
        context = _base(session, {"notification_id": notification_id})
        context.update(user=user.strip(), cancelled=cancelled)
        return page(request, "notification.html", context)

    @app.get(
        "/notifications/{notification_id}/stats",
        response_class=HTMLResponse,
        include_in_schema=False,
    )
    async def stats(request: Request, notification_id: uuid.UUID, session: Signed) -> Response:
        try:
            found = await upstream.get(
                "tracker", f"/v1/notifications/{notification_id}", session.api_key
            )
        except UpstreamError as error:
            if error.status != 404:
                raise
            found = None
        return page(request, "_stats.html", {"found": found, "notification_id": notification_id})

    @app.get(
        "/notifications/{notification_id}/timeline",
        response_class=HTMLResponse,
        include_in_schema=False,
    )
    async def timeline(
        request: Request, notification_id: uuid.UUID, user: str, session: Signed
    ) -> Response:
        """The user comes as a query parameter: any user id fits there, ``/`` and ``..`` too."""
        path = f"/v1/notifications/{notification_id}/users/{segment(user)}"
        try:
            story = await upstream.get("tracker", path, session.api_key)
        except UpstreamError as error:
            if error.status != 404:
                raise
            story = None
        context = {"story": story, "notification_id": notification_id, "user_id": user}
        return page(request, "_timeline.html", context)

    @app.post("/notifications/{notification_id}/cancel", include_in_schema=False)
    async def cancel(request: Request, notification_id: uuid.UUID, session: Signed) -> Response:
        form = await checked_form(request, session)
        path = f"/v1/notifications/{notification_id}/cancel"
        try:
            answer = await upstream.call("ingest", "POST", path, session.api_key)
            outcome = str(answer.get("status", "cancelled"))
        except UpstreamError as error:
            outcome = error.message
        user = form.get("user", "")
        query = f"?cancelled={segment(outcome)}" + (f"&user={segment(user)}" if user else "")
        return go(request, f"/notifications/{notification_id}{query}")

    @app.exception_handler(UpstreamError)
    async def upstream_failed(request: Request, error: UpstreamError) -> Response:
        if error.status == 401:
            response = go(request, "/signin")
            response.delete_cookie(COOKIE, path="/")
            return response
        return page(request, "error.html", {"message": error.message}, 502)


async def _is_operator(upstream: Upstream, key: str) -> bool:
    """True when the registry's admin API takes a key the app APIs refuse: an operator's."""
    try:
        await upstream.get("registry", "/v1/admin/apps", key)
    except UpstreamError:
        return False
    return True


async def _app_of(upstream: Upstream, key: str) -> str | None:
    """The key's app, from the admin API (keys without the admin scope cannot read it)."""
    try:
        apps = await upstream.get("registry", "/v1/admin/apps", key)
    except UpstreamError:
        return None
    listed = apps.get("apps", []) if isinstance(apps, dict) else []
    return str(listed[0]["app_id"]) if len(listed) == 1 else None


def _base(session: Session, extra: dict[str, Any]) -> dict[str, Any]:
    return {"session": session, **extra}


def _compose_context(
    session: Session, form: dict[str, str], problems: list[compose.Problem] | None = None
) -> dict[str, Any]:
    values = dict(form)
    values.setdefault("idempotency_key", str(uuid.uuid4()))
    values.setdefault("audience", "user_ids")
    return _base(
        session,
        {
            "form": values,
            "problems": problems or [],
            "actions": list(compose.ACTION_ROWS),
        },
    )
