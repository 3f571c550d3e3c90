"""What a device or a service worker gets is what was meant: each platform's push is sent by the
real provider to its emulator and read back the way the receiving side reads it.

- Web Push: the emulator decrypts; the service worker of the README (tests/support/
  service_worker.js, run under node) handles the push, and what it passes to showNotification
  is checked.
- FCM: the emulator's view of what an Android app, a browser and an iOS app each receive
  (platform blocks merged over the common fields, as FCM does).
- APNs: the headers and ``aps`` dictionary the emulator accepted, as iOS reads them.

Action buttons are followed to each of these, and on the web to the link a tap opens.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.dispatcher.domain import Delivered
from services.dispatcher.platforms.apns.provider import create_apns_provider
from services.dispatcher.platforms.fcm.provider import create_fcm_provider
from services.dispatcher.platforms.webpush.provider import create_webpush_provider
from services.dispatcher.settings import DispatcherSettings
from tests.support.apns import RunningApnsEmulator, apns_emulator
from tests.support.clock import FrozenClock
from tests.support.factories import apns_token, push_request
from tests.support.fcm import RunningEmulator, fcm_emulator
from tests.support.webpush import RunningWebPushEmulator, webpush_emulator

pytestmark = pytest.mark.integration

SERVICE_WORKER = Path(__file__).parents[1] / "support" / "run_service_worker.js"
CLOCK = FrozenClock()


@pytest.fixture(scope="module")
async def webpush(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningWebPushEmulator]:
    async with webpush_emulator(tmp_path_factory.mktemp("webpush"), clock=CLOCK) as running:
        yield running


@pytest.fixture(scope="module")
async def fcm(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningEmulator]:
    async with fcm_emulator(tmp_path_factory.mktemp("fcm")) as running:
        yield running


@pytest.fixture(scope="module")
async def apns(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningApnsEmulator]:
    async with apns_emulator(tmp_path_factory.mktemp("apns"), clock=CLOCK) as running:
        yield running


def run_service_worker(payload: str, *tap: str) -> dict[str, Any]:
    """What the README's service worker shows for this decrypted push (``shown``: each call of
    showNotification) and, after a tap on button ``tap`` ("" for the notification), opens."""
    run = subprocess.run(
        ["node", str(SERVICE_WORKER), *tap],
        input=payload,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    seen: dict[str, Any] = json.loads(run.stdout)
    return seen


def shown_by_the_service_worker(payload: str) -> list[dict[str, Any]]:
    """What the README's service worker passes to showNotification for this decrypted push."""
    shown: list[dict[str, Any]] = run_service_worker(payload)["shown"]
    return shown


async def pushed_to_browser(
    emulator: RunningWebPushEmulator, **fields: Any
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    message = await received_by_browser(emulator, **fields)
    return shown_by_the_service_worker(message["payload"]), message["headers"]


async def received_by_browser(emulator: RunningWebPushEmulator, **fields: Any) -> dict[str, Any]:
    """The push as the emulator received and decrypted it (``payload``, ``headers``)."""
    token = await emulator.subscribe()
    provider = await create_webpush_provider(
        DispatcherSettings(**emulator.dispatcher_settings()), CLOCK
    )
    try:
        verdict = await provider.attempt(
            push_request(CLOCK.now(), "webpush", token, **fields), CLOCK.now()
        )
    finally:
        await provider.close()
    assert isinstance(verdict, Delivered), verdict
    [message] = await emulator.recorded(token)
    received: dict[str, Any] = message
    return received


async def test_override_options_reach_show_notification(webpush: RunningWebPushEmulator) -> None:
    override = {
        "icon": "/icon.png",
        "requireInteraction": True,
        "actions": [{"action": "a", "title": "A"}],
    }
    [shown], _ = await pushed_to_browser(
        webpush,
        content={
            "title": "Order 42",
            "body": "Shipped",
            "overrides": {"webpush": {"notification": override}},
        },
    )

    assert shown["title"] == "Order 42"
    assert shown["options"]["icon"] == "/icon.png"
    assert shown["options"]["requireInteraction"] is True
    assert shown["options"]["actions"] == [{"action": "a", "title": "A"}]
    assert shown["options"]["body"] == "Shipped"
    assert shown["options"]["data"]["herald_notification_id"]


@pytest.mark.parametrize(
    ("content", "title", "body"),
    [
        ({"body": "Your parcel is at the door"}, "Your parcel is at the door", None),
        (
            {"title_loc_key": "PARCEL_TITLE", "body_loc_key": "PARCEL_BODY"},
            "PARCEL_TITLE",
            "PARCEL_BODY",
        ),
    ],
)
async def test_a_browser_is_never_shown_an_empty_title(
    webpush: RunningWebPushEmulator, content: dict[str, Any], title: str, body: str | None
) -> None:
    [shown], _ = await pushed_to_browser(webpush, content=content)

    assert shown["title"] == title
    assert shown["options"].get("body") == body


async def test_a_silent_data_push_shows_nothing_and_goes_at_normal_urgency(
    webpush: RunningWebPushEmulator,
) -> None:
    shown, headers = await pushed_to_browser(
        webpush, content={"data": {"sync": "inbox"}}, options={"priority": "high"}
    )

    assert shown == []
    assert headers["urgency"] == "normal"


async def sent_through_fcm(emulator: RunningEmulator, **fields: Any) -> dict[str, Any]:
    token = f"device-{CLOCK.now().timestamp()}-{len(await emulator.recorded())}:APA91b"
    provider = await create_fcm_provider(
        DispatcherSettings(**emulator.dispatcher_settings()), CLOCK
    )
    try:
        verdict = await provider.attempt(
            push_request(CLOCK.now(), "fcm", token, **fields), CLOCK.now()
        )
    finally:
        await provider.close()
    assert isinstance(verdict, Delivered), verdict
    [message] = await emulator.recorded(token)
    received: dict[str, Any] = message["received"]
    return received


async def test_fcm_clients_get_what_was_meant(fcm: RunningEmulator) -> None:
    body_only = await sent_through_fcm(
        fcm, content={"body": "At the door"}, options={"collapse_key": "parcel 42 / status"}
    )
    silent = await sent_through_fcm(
        fcm, content={"data": {"sync": "1"}}, options={"priority": "high"}
    )

    browser = body_only["webpush"]
    assert browser["notification"]["title"] == "At the door"
    assert browser["notification"]["body"] == ""
    assert len(browser["headers"]["Topic"]) == 32
    assert body_only["android"]["notification"]["body"] == "At the door"
    assert body_only["android"]["collapse_key"] == "parcel 42 / status"
    assert silent["android"]["priority"] == "NORMAL"
    assert silent["android"]["notification"] is None
    assert silent["webpush"]["headers"]["Urgency"] == "normal"
    assert silent["webpush"]["notification"] is None
    assert silent["apns"]["headers"]["apns-priority"] == "5"


async def sent_to_apple(emulator: RunningApnsEmulator, **fields: Any) -> dict[str, Any]:
    token = apns_token()
    provider = await create_apns_provider(
        DispatcherSettings(**emulator.dispatcher_settings()), CLOCK
    )
    try:
        verdict = await provider.attempt(
            push_request(CLOCK.now(), "apns", token, **fields), CLOCK.now()
        )
    finally:
        await provider.close()
    assert isinstance(verdict, Delivered), verdict
    [accepted] = await emulator.recorded(token)
    return accepted


async def test_apns_gets_what_was_meant(apns: RunningApnsEmulator) -> None:
    once = await sent_to_apple(apns, options={"ttl_seconds": 0, "collapse_key": "é" * 32})
    silent = await sent_to_apple(
        apns, content={"data": {"sync": "1"}}, options={"priority": "high"}
    )

    assert once["headers"]["apns-expiration"] == 0
    assert once["headers"]["apns-collapse-id"] == "é" * 32
    assert once["payload"]["aps"]["alert"] == {"title": "Hello", "body": "World"}
    assert (silent["headers"]["apns-push-type"], silent["headers"]["apns-priority"]) == (
        "background",
        5,
    )
    assert silent["payload"]["aps"] == {"content-available": 1}
    assert silent["payload"]["sync"] == "1"


async def test_buttons_reach_every_platform_and_a_tapped_one_opens_its_link(
    webpush: RunningWebPushEmulator, fcm: RunningEmulator, apns: RunningApnsEmulator
) -> None:
    content = {
        "title": "Order 42 shipped",
        "deep_link": "https://shop.example/orders/42",
        "category": "ORDER",
        "actions": [
            {"id": "track", "title": "Track", "deep_link": "https://shop.example/track/42"},
            {"id": "later", "title": "Later"},
        ],
    }
    buttons = [
        {"id": "track", "title": "Track", "deep_link": "https://shop.example/track/42"},
        {"id": "later", "title": "Later"},
    ]

    apple = await sent_to_apple(apns, content=content)
    google = await sent_through_fcm(fcm, content=content)
    browser = (await received_by_browser(webpush, content=content))["payload"]

    assert apple["payload"]["aps"]["category"] == "ORDER"
    assert apple["payload"]["herald_actions"] == buttons
    assert google["android"]["notification"]["click_action"] == "ORDER"
    assert json.loads(google["android"]["data"]["herald_actions"]) == buttons
    assert google["webpush"]["notification"]["actions"] == [
        {"action": "track", "title": "Track"},
        {"action": "later", "title": "Later"},
    ]
    assert google["apns"]["payload"]["aps"]["category"] == "ORDER"
    [shown] = run_service_worker(browser)["shown"]
    assert [action["action"] for action in shown["options"]["actions"]] == ["track", "later"]
    assert run_service_worker(browser, "track")["opened"] == ["https://shop.example/track/42"]
    assert run_service_worker(browser, "")["opened"] == ["https://shop.example/orders/42"]
    assert run_service_worker(browser, "later")["opened"] == []
