"""The Operations pages call the registry's admin API exactly as its contract reads (issue 18):
the console is served in-process, its API calls go to a stand-in that answers per the contract
and records what it was sent; also the cookie's flags and the CSRF check on every post."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from services.console.app import build
from services.console.settings import ConsoleSettings

pytestmark = pytest.mark.unit

KEY = "hrld_console_test_key"
OPERATOR = "hrld_operator_test_key"
CREATED = "2026-05-01T12:00:00Z"


def stand_in(calls: list[tuple[str, str, Any]]) -> FastAPI:
    """The registry's admin routes and the tracker's list, as the contract answers them."""
    api = FastAPI()

    async def record(request: Request) -> None:
        body = await request.json() if await request.body() else None
        assert request.headers["authorization"] in {f"Bearer {KEY}", f"Bearer {OPERATOR}"}
        calls.append((request.method, request.url.path, body))

    @api.get("/v1/notifications/recent")
    async def recent(request: Request) -> Any:
        await record(request)
        if request.headers["authorization"] == f"Bearer {OPERATOR}":
            error = {"error": {"code": "unauthorized", "message": "a server API key is required"}}
            return JSONResponse(error, status_code=401)
        return {"notifications": []}

    @api.get("/v1/admin/apps")
    async def apps(request: Request) -> dict[str, Any]:
        await record(request)
        return {
            "apps": [{"app_id": "demo", "name": "Demo", "disabled": False, "created_at": CREATED}]
        }

    @api.get("/v1/admin/apps/demo/keys")
    async def keys(request: Request) -> dict[str, Any]:
        await record(request)
        key = {"key_id": "k1", "label": "ci", "scopes": ["send"], "created_at": CREATED}
        return {"keys": [{**key, "revoked_at": None}]}

    @api.post("/v1/admin/apps/demo/keys", status_code=201)
    async def create(request: Request) -> dict[str, Any]:
        await record(request)
        return {
            "key_id": "k2",
            "key": "hrld_shown_once",
            "scopes": ["send", "admin"],
            "label": "ci",
            "created_at": CREATED,
        }

    @api.delete("/v1/admin/apps/demo/keys/{key_id}", status_code=204)
    async def revoke(request: Request, key_id: str) -> Response:
        await record(request)
        return Response(status_code=204)

    @api.get("/v1/admin/apps/demo/credentials")
    async def credentials(request: Request) -> dict[str, Any]:
        await record(request)
        summary = {"project_id": "demo-project", "client_email": "push@demo.example"}
        return {
            "credentials": [
                {
                    "platform": "fcm",
                    "kind": "fcm_service_account",
                    "set_at": CREATED,
                    "summary": summary,
                }
            ]
        }

    @api.put("/v1/admin/apps/demo/credentials/{platform}", status_code=204)
    async def set_credential(request: Request, platform: str) -> Response:
        await record(request)
        return Response(status_code=204)

    return api


@pytest.fixture
async def console(
    tmp_path: Path, calls: list[tuple[str, str, Any]]
) -> AsyncIterator[httpx.AsyncClient]:
    htmx = tmp_path / "htmx.min.js"
    htmx.write_text("/* htmx */")
    settings = ConsoleSettings(console_htmx_file=htmx)
    parts = build(settings, transport=httpx.ASGITransport(app=stand_in(calls)))
    transport = httpx.ASGITransport(app=parts.http_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
        yield client
    await parts.client.aclose()


@pytest.fixture
def calls() -> list[tuple[str, str, Any]]:
    return []


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert found, f"no {name} in the page"
    return found.group(1)


async def signed_in(console: httpx.AsyncClient) -> str:
    """Sign in; the CSRF token of the session."""
    form = await console.get("/signin")
    answer = await console.post("/signin", data={"api_key": KEY, "pre": hidden(form.text, "pre")})
    assert answer.status_code == 303, answer.text
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert KEY not in cookie
    page = await console.get("/operations/keys")
    return hidden(page.text, "csrf_token")


async def test_keys_are_listed_created_once_and_revoked_per_the_contract(
    console: httpx.AsyncClient, calls: list[tuple[str, str, Any]]
) -> None:
    csrf = await signed_in(console)
    created = await console.post(
        "/operations/keys",
        data={"csrf_token": csrf, "scope_send": "1", "scope_admin": "1", "label": " ci "},
    )
    assert created.status_code == 200
    assert "hrld_shown_once" in created.text
    revoked = await console.post("/operations/keys/k1/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 303
    assert (
        "POST",
        "/v1/admin/apps/demo/keys",
        {"scopes": ["send", "admin"], "label": "ci"},
    ) in calls
    assert ("DELETE", "/v1/admin/apps/demo/keys/k1", None) in calls
    listing = await console.get("/operations/keys")
    assert "hrld_shown_once" not in listing.text


async def test_credentials_are_set_and_only_their_summary_shown(
    console: httpx.AsyncClient, calls: list[tuple[str, str, Any]]
) -> None:
    csrf = await signed_in(console)
    account = '{"type": "service_account", "project_id": "demo-project", "private_key": "SECRET"}'
    answer = await console.post(
        "/operations/credentials/fcm", data={"csrf_token": csrf, "service_account": account}
    )
    assert answer.status_code == 200
    assert "fcm credentials saved" in answer.text
    assert "SECRET" not in answer.text
    assert "project_id=demo-project" in answer.text
    sent = [body for method, path, body in calls if method == "PUT"]
    assert sent == [
        {
            "service_account": {
                "type": "service_account",
                "project_id": "demo-project",
                "private_key": "SECRET",
            }
        }
    ]


async def test_posts_without_the_sessions_csrf_token_are_refused(
    console: httpx.AsyncClient, calls: list[tuple[str, str, Any]]
) -> None:
    await signed_in(console)
    refused = await console.post("/operations/keys", data={"scope_send": "1"})
    assert refused.status_code == 403
    forged = await console.post("/operations/keys/k1/revoke", data={"csrf_token": "guess"})
    assert forged.status_code == 403
    assert not [call for call in calls if call[0] in {"POST", "DELETE"}]


async def test_pages_need_a_session() -> None:
    parts = build(ConsoleSettings(console_htmx_file=Path(__file__)))
    transport = httpx.ASGITransport(app=parts.http_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
        answer = await client.get("/compose")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/signin"
        assert "default-src 'self'" in answer.headers["content-security-policy"]
    await parts.client.aclose()


async def test_the_preview_takes_the_htmx_csrf_header_and_escapes_what_was_typed(
    console: httpx.AsyncClient,
) -> None:
    csrf = await signed_in(console)
    form = {"audience": "user_ids", "user_ids": "alice", "title": "<script>alert(1)</script>"}
    shown = await console.post(
        "/compose/preview", data=form, headers={"X-CSRF-Token": csrf, "HX-Request": "true"}
    )
    assert shown.status_code == 200
    assert "<script>alert(1)</script>" not in shown.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown.text
    assert 'id="meter-apns"' in shown.text
    refused = await console.post("/compose/preview", data=form, headers={"HX-Request": "true"})
    assert refused.status_code == 403


async def test_an_operator_key_is_told_to_use_an_app_key(console: httpx.AsyncClient) -> None:
    form = await console.get("/signin")
    answer = await console.post(
        "/signin", data={"api_key": OPERATOR, "pre": hidden(form.text, "pre")}
    )
    assert answer.status_code == 401
    assert "That is an operator key" in answer.text
    assert (
        "set-cookie" not in answer.headers or "herald_console=" not in answer.headers["set-cookie"]
    )


async def test_signing_out_ends_the_session(console: httpx.AsyncClient) -> None:
    csrf = await signed_in(console)
    out = await console.post("/signout", data={"csrf_token": csrf})
    assert out.status_code == 303
    assert 'herald_console=""' in out.headers["set-cookie"]
    again = await console.get("/operations/keys")
    assert (again.status_code, again.headers["location"]) == (303, "/signin")
