"""End to end through every process to all three provider emulators: an iPhone, an Android phone
and a browser of one user get each push; dead tokens leave the registry; APNs down stalls no one
else."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.devstack.stack import LocalStack
from shared.tenancy.auth import issue_user_token
from tests.support.factories import apns_token, unique
from tests.support.registry import eventually
from tests.support.stack_client import StackCaller

pytestmark = pytest.mark.e2e


class Devices(StackCaller):
    """A user's devices on each platform, registered through the registry's API."""

    async def register(self, user: str, platform: str, token: str) -> str:
        response = await self.http.post(
            self.url("registry", "/v1/devices"),
            headers=self.auth,
            json={"user_id": user, "platform": platform, "token": token},
        )
        assert response.status_code == 201, response.text
        device_id: str = response.json()["device_id"]
        return device_id

    async def subscription(self) -> str:
        response = await self.http.post(self.url("webpush-emulator", "/emulator/subscriptions"))
        response.raise_for_status()
        return json.dumps(response.json())

    async def send(self, user: str, title: str) -> None:
        response = await self.http.post(
            self.url("ingest", "/v1/notifications"),
            headers=self.auth,
            json={
                "idempotency_key": unique("key"),
                "audience": {"user_ids": [user]},
                "content": {"title": title, "body": f"{title} body"},
            },
        )
        assert response.status_code == 202, response.text

    async def listing(self, emulator: str, path: str, **params: str) -> list[dict[str, Any]]:
        response = await self.http.get(self.url(emulator, path), params=params)
        response.raise_for_status()
        found: list[dict[str, Any]] = next(iter(response.json().values()))
        return found

    async def device(self, device_id: str) -> dict[str, Any]:
        response = await self.http.get(
            self.url("registry", f"/v1/devices/{device_id}"), headers=self.auth
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
async def devices(stack: LocalStack) -> AsyncIterator[Devices]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield Devices(stack, http)


def subscription_id(token: str) -> str:
    endpoint: str = json.loads(token)["endpoint"]
    return endpoint.rsplit("/", 1)[-1]


async def test_every_device_of_the_user_gets_the_push_through_its_provider(
    devices: Devices,
) -> None:
    user = unique("user")
    iphone, browser = apns_token(), await devices.subscription()
    android = f"{unique('fcm')}:{'B' * 40}"
    for platform, token in (("apns", iphone), ("webpush", browser), ("fcm", android)):
        await devices.register(user, platform, token)

    await devices.send(user, "Hello everywhere")

    async def arrived() -> bool:
        apns = await devices.listing("apns-emulator", "/emulator/messages", token=iphone)
        fcm = await devices.listing("fcm-emulator", "/emulator/messages", token=android)
        web = await devices.listing(
            "webpush-emulator", "/emulator/messages", subscription=subscription_id(browser)
        )
        return bool(apns and fcm and web)

    await eventually(arrived, timeout=60)
    [apns] = await devices.listing("apns-emulator", "/emulator/messages", token=iphone)
    [web] = await devices.listing(
        "webpush-emulator", "/emulator/messages", subscription=subscription_id(browser)
    )
    assert apns["payload"]["aps"]["alert"]["title"] == "Hello everywhere"
    assert apns["payload"]["aps"]["badge"] == 1
    assert json.loads(web["payload"])["notification"]["title"] == "Hello everywhere"
    assert json.loads(web["payload"])["herald"]["herald_badge"] == 1


async def test_a_browser_subscribed_with_the_vapid_key_read_from_the_registry_gets_its_push(
    devices: Devices,
) -> None:
    """The key the registry gives a web page is the one Herald signs with: the emulator binds the
    subscription to it and refuses a push whose VAPID token another key signed."""
    user = unique("user")
    token = issue_user_token(
        devices.stack.options.app_id,
        user,
        devices.stack.signing_key,
        now=datetime.now(UTC),
        lifetime=timedelta(minutes=5),
    )
    read = await devices.http.get(
        devices.url("registry", "/v1/webpush/vapid-public-key"),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert read.status_code == 200, read.text
    subscribed = await devices.http.post(
        devices.url("webpush-emulator", "/emulator/subscriptions"),
        json={"application_server_key": read.json()["public_key"]},
    )
    subscribed.raise_for_status()
    browser = json.dumps(subscribed.json())
    await devices.register(user, "webpush", browser)

    await devices.send(user, "Bound to the key")

    async def received() -> list[dict[str, Any]]:
        return await devices.listing(
            "webpush-emulator", "/emulator/messages", subscription=subscription_id(browser)
        )

    async def arrived() -> bool:
        return bool(await received())

    await eventually(arrived, timeout=60)
    [web] = await received()
    assert json.loads(web["payload"])["notification"]["title"] == "Bound to the key"


@pytest.mark.parametrize("platform", ["apns", "webpush"])
async def test_a_dead_token_is_deactivated_and_never_pushed_again(
    devices: Devices, platform: str
) -> None:
    user = unique("user")
    if platform == "apns":
        token = apns_token()
        emulator, kill = "apns-emulator", f"/emulator/tokens/{token}/unregister"
        params = {"token": token}
    else:
        token = await devices.subscription()
        emulator = "webpush-emulator"
        kill = f"/emulator/subscriptions/{subscription_id(token)}/unsubscribe"
        params = {"subscription": subscription_id(token)}
    device_id = await devices.register(user, platform, token)
    (await devices.http.post(devices.url(emulator, kill))).raise_for_status()

    await devices.send(user, "first")

    async def deactivated() -> bool:
        return not (await devices.device(device_id))["active"]

    await eventually(deactivated, timeout=60)
    refused = await devices.listing(emulator, "/emulator/requests", **params)
    await devices.send(user, "second")
    await asyncio.sleep(3)

    assert len(refused) == 1
    assert await devices.listing(emulator, "/emulator/requests", **params) == refused


async def test_with_apns_down_fcm_and_web_push_keep_flowing_and_apns_catches_up(
    devices: Devices,
) -> None:
    user = unique("user")
    iphone, browser = apns_token(), await devices.subscription()
    android = f"{unique('fcm')}:{'C' * 40}"
    for platform, token in (("apns", iphone), ("webpush", browser), ("fcm", android)):
        await devices.register(user, platform, token)
    apns_emulator = devices.stack.services["apns-emulator"]
    apns_emulator.stop()
    try:
        for i in range(3):
            await devices.send(user, f"while APNs is down {i}")

        async def others_arrived() -> bool:
            fcm = await devices.listing("fcm-emulator", "/emulator/messages", token=android)
            web = await devices.listing(
                "webpush-emulator", "/emulator/messages", subscription=subscription_id(browser)
            )
            return len(fcm) == 3 and len(web) == 3

        await eventually(others_arrived, timeout=30)
    finally:
        apns_emulator.start()
        apns_emulator.wait_ready(time.monotonic() + 30)

    async def apns_caught_up() -> bool:
        return len(await devices.listing("apns-emulator", "/emulator/messages", token=iphone)) == 3

    await eventually(apns_caught_up, timeout=90)
