"""After the end-to-end suite (this module runs last), no log of any process holds a device token,
a Web Push secret, an API or signing key or a private key.

It first sends its own traffic down the paths that handle tokens (registration, refused
registrations, delivery on every platform, dead tokens), so it proves something when run alone.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import fields

import asyncpg
import httpx
import pytest

from services.devstack.stack import EMULATORS, LocalStack
from tests.support.factories import apns_token, unique
from tests.support.log_scan import (
    Needle,
    file_needles,
    leaks,
    settings_needles,
    token_needles,
    value_needles,
)
from tests.support.registry import eventually
from tests.support.stack_client import StackCaller

pytestmark = pytest.mark.e2e


class Traffic(StackCaller):
    """Calls a product's server, its devices and the provider emulators make."""

    async def register(self, user: str, platform: str, token: str) -> httpx.Response:
        return await self.http.post(
            self.url("registry", "/v1/devices"),
            headers=self.auth,
            json={"user_id": user, "platform": platform, "token": token},
        )

    async def subscription(self) -> dict[str, object]:
        response = await self.http.post(self.url("webpush-emulator", "/emulator/subscriptions"))
        response.raise_for_status()
        subscription: dict[str, object] = response.json()
        return subscription

    async def send(self, user: str, title: str) -> None:
        response = await self.http.post(
            self.url("ingest", "/v1/notifications"),
            headers=self.auth,
            json={
                "idempotency_key": unique("key"),
                "audience": {"user_ids": [user]},
                "content": {"title": title, "body": "scan"},
            },
        )
        assert response.status_code == 202, response.text

    async def count(self, emulator: str, path: str, **params: str) -> int:
        response = await self.http.get(self.url(emulator, path), params=params)
        response.raise_for_status()
        return len(next(iter(response.json().values())))


@pytest.fixture
async def traffic(stack: LocalStack) -> AsyncIterator[Traffic]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield Traffic(stack, http)


async def exercise_token_paths(traffic: Traffic) -> list[Needle]:
    """Deliver to all three platforms, refuse bad registrations, kill two tokens."""
    user = unique("user")
    iphone = apns_token()
    android = f"{unique('fcm')}:{unique('tok')}{'D' * 40}"
    subscription = await traffic.subscription()
    browser = json.dumps(subscription)
    endpoint_id = str(subscription["endpoint"]).rsplit("/", 1)[-1]
    devices = {}
    handed_out: list[Needle] = []
    for platform, token in (("apns", iphone.upper()), ("fcm", android), ("webpush", browser)):
        response = await traffic.register(user, platform, token)
        assert response.status_code == 201, response.text
        devices[platform] = response.json()["device_id"]
        for name, value in response.json().items():
            if "secret" in name:
                handed_out.extend(value_needles(f"{platform} registration's {name}", value))
    foreign = json.dumps({**subscription, "endpoint": "https://push.invalid/x/" + unique("sub")})
    for platform, token in (("apns", iphone[:-1] + "z"), ("webpush", foreign), ("fcm", "a b")):
        assert (await traffic.register(unique("user"), platform, token)).status_code == 422

    await traffic.send(user, "first")

    async def delivered() -> bool:
        return (
            await traffic.count("apns-emulator", "/emulator/messages", token=iphone)
            and await traffic.count("fcm-emulator", "/emulator/messages", token=android)
            and await traffic.count(
                "webpush-emulator", "/emulator/messages", subscription=endpoint_id
            )
        ) > 0

    await eventually(delivered, timeout=60)
    await traffic.http.post(traffic.url("apns-emulator", f"/emulator/tokens/{iphone}/unregister"))
    await traffic.http.post(
        traffic.url("webpush-emulator", f"/emulator/subscriptions/{endpoint_id}/unsubscribe")
    )
    await traffic.send(user, "second")

    async def deactivated() -> bool:
        for platform in ("apns", "webpush"):
            response = await traffic.http.get(
                traffic.url("registry", f"/v1/devices/{devices[platform]}"), headers=traffic.auth
            )
            if response.json()["active"]:
                return False
        return True

    await eventually(deactivated, timeout=60)
    return [
        *handed_out,
        *token_needles("apns", iphone),
        *token_needles("fcm", android),
        *token_needles("webpush", browser),
        *token_needles("webpush", foreign),
    ]


async def registered_tokens(stack: LocalStack) -> list[Needle]:
    """Every token any test of the session registered, from the registry's own table."""
    assert stack.postgres is not None
    connection = await asyncpg.connect(stack.postgres.dsn)
    try:
        rows = await connection.fetch("SELECT platform, token FROM registry.devices")
    finally:
        await connection.close()
    return [needle for row in rows for needle in token_needles(row["platform"], row["token"])]


def stack_secrets(stack: LocalStack) -> list[Needle]:
    """Keys the stack minted, settings that carry secrets, and the key files it generated."""
    needles: list[Needle] = []
    for field in fields(stack):
        if field.name in {"api_key", "signing_key"} or "secret" in field.name:
            needles.extend(value_needles(f"stack.{field.name}", getattr(stack, field.name)))
    for name, process in stack.services.items():
        needles.extend(settings_needles(process.env, name))
    needles.extend(file_needles(stack.run_dir / "secrets"))
    return needles


async def test_no_log_holds_a_token_or_key_material(stack: LocalStack, traffic: Traffic) -> None:
    ours = await exercise_token_paths(traffic)
    needles = [*ours, *await registered_tokens(stack), *stack_secrets(stack)]
    log_files = sorted((stack.run_dir / "logs").glob("*.log"))

    assert stack.broker is not None
    found = leaks([*log_files, *stack.broker.log_paths()], needles, set(EMULATORS))

    assert len(log_files) == len(stack.services)
    assert any("PRIVATE KEY" in n.what for n in needles), "no key files found to look for"
    assert any(n.what == "stack.api_key" for n in needles)
    assert not found, "secrets in logs:\n" + "\n".join(sorted(set(found)))
