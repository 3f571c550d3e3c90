"""Traffic down every path that handles a device token, so the log scan that ends the e2e session
(tests/e2e/conftest.py) proves something when this test runs alone.

It registers, refuses bad registrations, delivers on every platform and kills two tokens; the
secrets it made up or was handed join those the scan looks for.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from services.devstack.stack import LocalStack
from tests.support.factories import apns_token, unique
from tests.support.log_scan import Needle, token_needles, value_needles
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


async def test_token_paths_deliver_refuse_and_deactivate(
    traffic: Traffic, learnt_secrets: list[Needle]
) -> None:
    learnt_secrets.extend(await exercise_token_paths(traffic))
