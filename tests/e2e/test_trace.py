""" "Why didn't alice get it?" answered through every service process: one notification to three
users, each with a different story, told by the tracker's API and by ``herald trace``.

alice has a phone, an Android device, a browser and an old iPhone whose token Apple no longer
knows; bob has no device; carol reads the notification on another screen before it is due.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.devstack.stack import LocalStack
from services.registry.apps import cli
from tests.support.factories import apns_token, unique
from tests.support.stack_client import StackClient

pytestmark = pytest.mark.e2e

DUE_IN = timedelta(seconds=4)


@pytest.fixture
async def client(stack: LocalStack) -> AsyncIterator[StackClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield StackClient(stack, http)


async def register(client: StackClient, user: str, platform: str, token: str) -> str:
    response = await client.http.post(
        client.url("registry", "/v1/devices"),
        headers=client.auth,
        json={"user_id": user, "platform": platform, "token": token},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["device_id"])


async def browser_subscription(client: StackClient) -> str:
    response = await client.http.post(client.url("webpush-emulator", "/emulator/subscriptions"))
    response.raise_for_status()
    return json.dumps(response.json())


async def tracked(client: StackClient, path: str) -> dict[str, Any]:
    response = await client.http.get(client.url("tracker", path), headers=client.auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def until_done(client: StackClient, notification_id: str) -> dict[str, Any]:
    """The notification's view once every user's story has ended and the dead token is off."""
    async with asyncio.timeout(60):
        while True:
            response = await client.http.get(
                client.url("tracker", f"/v1/notifications/{notification_id}"), headers=client.auth
            )
            if response.status_code == 200:
                view: dict[str, Any] = response.json()
                if view["status"] == "done" and view["counts"]["token_deactivated"] == 1:
                    return view
            await asyncio.sleep(0.2)


async def test_the_tracker_and_herald_trace_tell_each_users_story(
    client: StackClient, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    alice, bob, carol = unique("alice"), unique("bob"), unique("carol")
    old_iphone = apns_token()
    alice_devices = {
        "apns": await register(client, alice, "apns", apns_token()),
        "fcm": (await client.register_fcm(alice))[1],
        "webpush": await register(client, alice, "webpush", await browser_subscription(client)),
    }
    dead_device = await register(client, alice, "apns", old_iphone)
    await client.http.post(client.url("apns-emulator", f"/emulator/tokens/{old_iphone}/unregister"))
    await client.register_fcm(carol)

    sent = await client.send(
        {
            "idempotency_key": unique("story"),
            "audience": {"user_ids": [alice, bob, carol]},
            "content": {"title": "Your order shipped", "body": "Track it in the app"},
            "schedule": {"send_at": (datetime.now(UTC) + DUE_IN).isoformat()},
        }
    )
    assert sent.status_code == 202, sent.text
    notification_id = str(sent.json()["notification_id"])
    read = await client.report_reads(carol, {"notification_ids": [notification_id]})
    assert read.status_code == 202, read.text

    view = await until_done(client, notification_id)
    opened = await client.http.post(
        client.url("registry", f"/v1/notifications/{notification_id}/opened"),
        headers=client.user_auth(alice),
        json={"device_id": alice_devices["fcm"]},
    )
    assert opened.status_code == 202, opened.text
    async with asyncio.timeout(30):
        while view["counts"]["opened"] == 0:
            await asyncio.sleep(0.2)
            view = await tracked(client, f"/v1/notifications/{notification_id}")

    stories = {
        user: await tracked(client, f"/v1/notifications/{notification_id}/users/{user}")
        for user in (alice, bob, carol)
    }
    monkeypatch.setenv("HERALD_TRACKER_URL", client.stack.services["tracker"].url)
    monkeypatch.setenv("HERALD_KEY", client.stack.api_key)
    capsys.readouterr()
    code = await asyncio.to_thread(cli.main, ["trace", notification_id, "--user", alice])
    printed = capsys.readouterr().out

    counts = view["counts"]
    assert counts["users_targeted"] == 3
    assert counts["no_device"] == 1
    assert counts["withheld"] == {"read_already": 1}
    assert counts["delivered"] == 3
    assert sum(counts["failed"].values()) == 1
    assert counts["opened"] == 1
    assert counts["open_rate"] == pytest.approx(1 / 3, abs=1e-4)

    by_device = {device["device_id"]: device for device in stories[alice]["devices"]}
    assert set(by_device) == {*alice_devices.values(), dead_device}
    assert {by_device[device]["outcome"] for device in alice_devices.values()} == {"delivered"}
    assert by_device[dead_device]["outcome"] == "token_invalid"
    assert "token_deactivated" in [step["stage"] for step in by_device[dead_device]["steps"]]
    assert "no_device" in [step["stage"] for step in stories[bob]["steps"]]
    carol_steps = stories[carol]["steps"]
    assert [s["reason"] for s in carol_steps if s["stage"] == "withheld"] == ["read_already"]
    assert stories[carol]["devices"] == []

    assert code == 0
    assert notification_id in printed
    assert "token_deactivated" in printed
    assert dead_device in printed
