"""Operating the signed-in app through the registry's admin API: the app itself (an app key
sees only its own), keys created and shown once, revoked; provider credentials set, never shown
back. Every call is the app key's own: the APIs decide what it may do."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from contracts.apps import SCOPES
from services.console.session import Session
from services.console.upstream import Upstream, UpstreamError, segment
from services.console.web import checked_form, go, page, session_of

Signed = Annotated[Session, Depends(session_of)]
#: The fields of each platform's credential form, as the admin API takes them.
CREDENTIAL_FIELDS = {
    "apns": ("kind", "team_id", "key_id", "topic", "environment", "private_key_pem"),
    "fcm": ("service_account",),
    "webpush": ("subject", "private_key_pem"),
}


def credential_body(platform: str, form: dict[str, str]) -> dict[str, Any]:
    """The PUT body for ``platform`` from its form (the FCM service account is the JSON file)."""
    if platform == "fcm":
        try:
            return {"service_account": json.loads(form.get("service_account", ""))}
        except json.JSONDecodeError:
            raise UpstreamError(422, "invalid_request", "not JSON", "service_account") from None
    return {name: form.get(name, "") for name in CREDENTIAL_FIELDS[platform]}


def add_operations(app: FastAPI, upstream: Upstream) -> None:
    """Mount the keys and credentials pages on ``app``."""

    def admin_path(session: Session, tail: str) -> str:
        if session.app_id is None:
            raise UpstreamError(403, "insufficient_scope", "this key lacks the admin scope")
        return f"/v1/admin/apps/{segment(session.app_id)}{tail}"

    async def keys_page(
        request: Request, session: Session, created: Any = None, error: str | None = None
    ) -> Response:
        listed: dict[str, Any] = {"keys": []}
        apps: dict[str, Any] = {"apps": []}
        try:
            listed = await upstream.get("registry", admin_path(session, "/keys"), session.api_key)
            apps = await upstream.get("registry", "/v1/admin/apps", session.api_key)
        except UpstreamError as failure:
            error = error or failure.message
        context = {
            "session": session,
            "app": next(iter(apps.get("apps", [])), None),
            "keys": listed.get("keys", []),
            "created": created,
            "error": error,
            "scopes": SCOPES,
        }
        return page(request, "keys.html", context)

    @app.get("/operations/keys", response_class=HTMLResponse, include_in_schema=False)
    async def keys(request: Request, session: Signed) -> Response:
        return await keys_page(request, session)

    @app.post("/operations/keys", response_class=HTMLResponse, include_in_schema=False)
    async def create_key(request: Request, session: Signed) -> Response:
        form = await checked_form(request, session)
        body: dict[str, Any] = {"scopes": [s for s in SCOPES if form.get(f"scope_{s}")]}
        if form.get("label", "").strip():
            body["label"] = form["label"].strip()
        try:
            created = await upstream.call(
                "registry", "POST", admin_path(session, "/keys"), session.api_key, body
            )
        except UpstreamError as error:
            return await keys_page(request, session, error=error.message)
        return await keys_page(request, session, created=created)

    @app.post("/operations/keys/{key_id}/revoke", include_in_schema=False)
    async def revoke_key(request: Request, key_id: str, session: Signed) -> Response:
        await checked_form(request, session)
        path = admin_path(session, f"/keys/{segment(key_id)}")
        try:
            await upstream.call("registry", "DELETE", path, session.api_key)
        except UpstreamError as error:
            return await keys_page(request, session, error=error.message)
        return go(request, "/operations/keys")

    async def credentials_page(
        request: Request, session: Session, notice: str | None = None, status: int = 200
    ) -> Response:
        listed: dict[str, Any] = {"credentials": []}
        error = None
        try:
            path = admin_path(session, "/credentials")
            listed = await upstream.get("registry", path, session.api_key)
        except UpstreamError as failure:
            error = failure.message
        context = {
            "session": session,
            "credentials": listed.get("credentials", []),
            "error": error,
            "notice": notice,
        }
        return page(request, "credentials.html", context, status)

    @app.get("/operations/credentials", response_class=HTMLResponse, include_in_schema=False)
    async def credentials(request: Request, session: Signed) -> Response:
        return await credentials_page(request, session)

    @app.post(
        "/operations/credentials/{platform}",
        response_class=HTMLResponse,
        include_in_schema=False,
    )
    async def set_credential(request: Request, platform: str, session: Signed) -> Response:
        form = await checked_form(request, session)
        if platform not in CREDENTIAL_FIELDS:
            return await credentials_page(request, session, f"no platform {platform}", 404)
        try:
            body = credential_body(platform, form)
            path = admin_path(session, f"/credentials/{platform}")
            await upstream.call("registry", "PUT", path, session.api_key, body)
        except UpstreamError as error:
            where = f" ({error.field})" if error.field else ""
            return await credentials_page(request, session, f"{error.message}{where}", 422)
        return await credentials_page(request, session, f"{platform} credentials saved")
