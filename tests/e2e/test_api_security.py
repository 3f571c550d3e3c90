"""Every HTTP route refuses bad credentials, and no app or user reaches another's data."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.devstack.stack import LocalStack
from tests.support.factories import unique
from tests.support.registry import fcm_token
from tests.support.tenants import Tenant, bearer, create_app

pytestmark = pytest.mark.e2e

API_SERVICES = ("ingest", "registry", "badge-count", "tracker")
UNGUARDED = {"/healthz", "/readyz"}


@pytest.fixture(scope="module")
async def tenants(stack: LocalStack) -> tuple[Tenant, Tenant]:
    return await create_app(stack), await create_app(stack)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def concrete(path: str) -> str:
    """The path with every parameter filled with a well-formed value."""
    for name, value in {
        "{device_id}": str(uuid.uuid4()),
        "{notification_id}": str(uuid.uuid4()),
        "{user_id}": "someone",
    }.items():
        path = path.replace(name, value)
    return path


async def routes(stack: LocalStack, http: httpx.AsyncClient) -> list[tuple[str, str, str]]:
    found = []
    for service in API_SERVICES:
        document = (await http.get(stack.services[service].url + "/openapi.json")).json()
        for path, operations in document["paths"].items():
            if path in UNGUARDED:
                continue
            for method in operations:
                found.append((service, method.upper(), path))
    return found


async def test_every_route_refuses_missing_invalid_expired_and_revoked_credentials(
    stack: LocalStack, http: httpx.AsyncClient, tenants: tuple[Tenant, Tenant]
) -> None:
    app = tenants[0]
    credentials: dict[str, dict[str, str]] = {
        "missing": {},
        "invalid key": bearer("hrld_" + "x" * 43),
        "invalid token": bearer("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bm9wZQ"),
        "expired token": bearer(app.user_token("someone", expired=True)),
        "revoked key": bearer(app.revoked_key),
    }
    inventory = await routes(stack, http)
    answers: dict[tuple[str, str, str, str], int] = {}
    for service, method, path in inventory:
        url = stack.services[service].url + concrete(path)
        for name, headers in credentials.items():
            response = await http.request(method, url, headers=headers, json={})
            answers[(service, method, path, name)] = response.status_code

    assert len(inventory) >= 9
    assert {key: code for key, code in answers.items() if code != 401} == {}


async def test_no_app_or_user_reaches_anothers_data(
    stack: LocalStack, http: httpx.AsyncClient, tenants: tuple[Tenant, Tenant]
) -> None:
    a, b = tenants
    owner, neighbour, stranger = unique("a1"), unique("a2"), unique("b1")
    registry, badges = stack.services["registry"].url, stack.services["badge-count"].url
    token = fcm_token()
    registered = await http.post(
        f"{registry}/v1/devices",
        headers=bearer(a.key),
        json={"user_id": owner, "platform": "fcm", "token": token},
    )
    device = registered.json()["device_id"]
    preferences = {"time_zone": "Europe/Paris", "quiet_hours": {"start": "22:00", "end": "07:00"}}
    assert (
        await http.put(
            f"{registry}/v1/users/{owner}/preferences", headers=bearer(a.key), json=preferences
        )
    ).status_code == 200
    before = await snapshot(http, registry, badges, a, owner, device)
    opened_on = {"device_id": device}

    intruders = {
        "other app's key": bearer(b.key),
        "neighbour's token": bearer(a.user_token(neighbour)),
        "other app's user": bearer(b.user_token(stranger)),
    }
    attempts: list[tuple[str, str, str, dict[str, Any] | None]] = [
        ("GET", f"{registry}/v1/devices/{device}", "device", None),
        ("DELETE", f"{registry}/v1/devices/{device}", "device", None),
        ("GET", f"{registry}/v1/users/{owner}/devices", "devices", None),
        ("GET", f"{registry}/v1/users/{owner}/preferences", "preferences", None),
        ("PUT", f"{registry}/v1/users/{owner}/preferences", "preferences", {"time_zone": "UTC"}),
        ("POST", f"{registry}/v1/users/{owner}/reads", "reads", {"all": True}),
        ("POST", f"{registry}/v1/notifications/{uuid.uuid4()}/opened", "device", opened_on),
        ("GET", f"{badges}/v1/users/{owner}/badge", "badge", None),
    ]
    leaks = {}
    for who, headers in intruders.items():
        for method, url, what, payload in attempts:
            response = await http.request(method, url, headers=headers, json=payload)
            if leaked(who, what, response, token, device):
                leaks[(who, method, what)] = response.status_code
    after = await snapshot(http, registry, badges, a, owner, device)

    assert leaks == {}
    assert after == before


def leaked(who: str, what: str, response: httpx.Response, token: str, device: str) -> bool:
    """A user token must be told the user does not exist. Another app's server may address a
    user of the same id in its own app (ids are per app), so it must see nothing of this one:
    not the device, not its token, not the preferences. (A 404 may repeat the id asked for.)"""
    shown = token in response.text or "Europe/Paris" in response.text
    if what != "device":
        shown = shown or device in response.text
        if who == "other app's key":
            return shown
    return response.status_code != 404 or shown


async def snapshot(
    http: httpx.AsyncClient, registry: str, badges: str, app: Tenant, user: str, device: str
) -> tuple[Any, ...]:
    """What an intruder must not change: the device, the preferences, the badge."""
    headers = bearer(app.key)
    found = (await http.get(f"{registry}/v1/devices/{device}", headers=headers)).json()
    prefs = (await http.get(f"{registry}/v1/users/{user}/preferences", headers=headers)).json()
    badge = (await http.get(f"{badges}/v1/users/{user}/badge", headers=headers)).json()
    return (
        found["user_id"],
        found["active"],
        prefs["time_zone"],
        prefs["quiet_hours"],
        badge["badge"],
        badge["badge_seq"],
    )
