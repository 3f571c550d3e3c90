"""The console in a real browser against the whole stack: sign in, compose with a French variant
and an image, watch the preview and its meters, send, see the push at the emulator and the
timeline reach delivered, send to a test device, cancel a scheduled send, operate keys, replay a
dead letter."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Page, expect

from contracts import topics
from contracts.codec import encode
from contracts.deadletter import DeadLetter
from contracts.notifications import SourceRecord
from services.devstack.stack import LocalStack
from tests.support.browser import Watched, installed_chromium, signed_in_console
from tests.support.factories import apns_token, push_request, unique
from tests.support.kafka import TopicIO
from tests.support.log_scan import Needle

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture(scope="module")
def chromium() -> Path:
    return installed_chromium()


@pytest.fixture(scope="module")
def console(chromium: Path, stack: LocalStack) -> Iterator[Watched]:
    """The console of the session's stack (tests/e2e/conftest.py) in one signed-in page."""
    with signed_in_console(chromium, stack) as watched:
        yield watched


def register(stack: LocalStack, user: str, platform: str, token: str, **extra: Any) -> str:
    response = httpx.post(
        f"{stack.services['registry'].url}/v1/devices",
        headers={"Authorization": f"Bearer {stack.api_key}"},
        json={"user_id": user, "platform": platform, "token": token, **extra},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["device_id"])


def subscribe(stack: LocalStack, path: str, topic: str) -> None:
    response = httpx.post(
        f"{stack.services['registry'].url}{path}",
        headers={"Authorization": f"Bearer {stack.api_key}"},
        json={"subscribe": [topic]},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def fcm_pushes(stack: LocalStack, token: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{stack.services['fcm-emulator'].url}/emulator/messages", params={"token": token}
    )
    response.raise_for_status()
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def wait_for_push(stack: LocalStack, token: str, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while not (pushes := fcm_pushes(stack, token)):
        assert time.monotonic() < deadline, f"nothing arrived for {token}"
        time.sleep(0.2)
    return pushes


def previewed(page: Page, label: str, value: str) -> None:
    """Type ``value`` and wait for the preview it triggers, so no preview is in flight when the
    form is sent (leaving the page would abort it: a failed request)."""
    with page.expect_response(lambda response: response.url.endswith("/compose/preview")):
        page.get_by_label(label).fill(value)


def press(page: Page, button: str) -> None:
    """Click ``button`` once no preview is in flight (htmx marks an element while it waits)."""
    expect(page.locator(".htmx-request")).to_have_count(0)
    page.get_by_role("button", name=button, exact=True).click()


def compose(console: Watched, user: str, title: str) -> None:
    page = console.page
    page.goto("/compose")
    page.get_by_label("User ids").fill(user)
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Body", exact=True).fill("Your order shipped")


def test_compose_preview_send_and_follow_to_delivered(console: Watched, stack: LocalStack) -> None:
    alice = f"{unique('org')}/alice"  # a slash: one user all the same, on every page
    fcm_token = f"{unique('fcm')}:{'A' * 40}"
    pixel = register(stack, alice, "fcm", fcm_token, locale="fr-FR")
    register(stack, alice, "apns", apns_token())
    subscribe(stack, f"/v1/users/{quote(alice, safe='')}/topics", "orders")
    subscribe(stack, f"/v1/devices/{pixel}/topics", "deals")
    page = console.page
    compose(console, alice, "Hello")
    page.get_by_label("Image URL").fill("https://images.example.com/parcel.png")
    page.get_by_label("Locale", exact=True).fill("fr")
    page.get_by_label("Title in that locale").fill("Bonjour")
    page.get_by_label("Body in that locale").fill("Votre commande est partie")
    preview = page.locator("#preview")
    expect(preview.locator("#preview-apns .card-title")).to_have_text("Hello")
    expect(preview.locator("#preview-fcm .card-image")).to_contain_text("parcel.png")
    expect(preview.locator("meter")).to_have_count(3)
    previewed(page, "Preview locale", "fr")
    expect(preview.locator("#preview-webpush .card-title")).to_have_text("Bonjour")
    page.evaluate("window.scrollTo(0, 0)")
    console.shot("compose")

    press(page, "Send")
    page.wait_for_url("**/notifications/*")
    expect(page.locator("#timeline-status")).to_have_text("done", timeout=30_000)
    expect(page.locator(".outcome[data-outcome=delivered]")).to_have_count(2)
    expect(page.locator("#status")).to_have_text("done", timeout=30_000)
    console.shot("timeline")
    arrived = wait_for_push(stack, fcm_token)
    assert "Bonjour" in json.dumps(arrived[0], ensure_ascii=False)

    page.goto("/notifications")
    expect(page.get_by_role("cell", name="Hello").first).to_be_visible()
    console.shot("notifications")
    page.goto(f"/users?user_id={quote(alice)}")
    expect(page.locator("#devices tbody tr")).to_have_count(2)
    expect(page.locator("#user-topics")).to_contain_text("orders")
    expect(page.locator("#devices tr", has_text=pixel)).to_contain_text("deals")
    pushes = page.locator(f"#device-{pixel} tbody tr", has_text="Hello")
    expect(pushes.locator(".outcome")).to_have_text("delivered")
    console.shot("users")
    console.check()


def test_send_to_a_test_device(console: Watched, stack: LocalStack) -> None:
    bob = unique("bob")
    token = f"{unique('fcm')}:{'B' * 40}"
    device = register(stack, bob, "fcm", token)
    compose(console, unique("nobody"), "Test push")
    previewed(console.page, "Test device id", device)
    press(console.page, "Send to the test device")
    console.page.wait_for_url("**/notifications/*")
    assert "Test push" in json.dumps(wait_for_push(stack, token))
    console.check()


def test_cancel_a_scheduled_notification(console: Watched, stack: LocalStack) -> None:
    carol = unique("carol")
    register(stack, carol, "fcm", f"{unique('fcm')}:{'C' * 40}")
    page = console.page
    compose(console, carol, "Tomorrow's news")
    page.get_by_label("At a time (UTC)").check()
    later = datetime.now(UTC) + timedelta(hours=1)
    previewed(page, "Send at (UTC)", later.strftime("%Y-%m-%dT%H:%M"))
    press(page, "Send")
    page.wait_for_url("**/notifications/*")
    expect(page.locator("#timeline-status")).to_have_text("held", timeout=30_000)
    page.get_by_role("button", name="Cancel what is not sent yet").click()
    expect(page.locator("#cancel-result")).to_have_text("Cancel: cancelled")
    expect(page.locator("#timeline-status")).to_have_text("done", timeout=30_000)
    console.shot("cancelled")
    console.check()


def app_admin_key(stack: LocalStack, operator_key: str) -> str:
    """A key of the demo app with the admin scope, made with the stack's operator key, once every
    service knows it (keys reach them on apps.changed)."""
    made = httpx.post(
        f"{stack.services['registry'].url}/v1/admin/apps/{stack.options.app_id}/keys",
        headers={"Authorization": f"Bearer {operator_key}"},
        json={"scopes": ["send", "admin"], "label": "console admin"},
    )
    assert made.status_code == 201, made.text
    key = str(made.json()["key"])
    deadline = time.monotonic() + 30
    while httpx.get(
        f"{stack.services['tracker'].url}/v1/notifications/recent",
        headers={"Authorization": f"Bearer {key}"},
    ).is_error:
        assert time.monotonic() < deadline, "the tracker never learnt the new key"
        time.sleep(0.2)
    return key


def test_create_and_revoke_a_key(
    console: Watched,
    stack: LocalStack,
    learnt_secrets: list[Needle],
    request: pytest.FixtureRequest,
) -> None:
    """An app admin signs in, sees the app, creates a key (shown once) and revokes it, and
    sees the credentials' public settings only."""
    admin_key = app_admin_key(stack, request.getfixturevalue("operator_key"))
    learnt_secrets.append(Needle("an app admin key made for the console", admin_key))
    page = console.page
    page.goto("/signin")
    page.get_by_label("App API key").fill(admin_key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/compose")
    page.goto("/operations/keys")
    expect(page.locator("#app")).to_contain_text(stack.options.app_id)
    label = unique("console-key")
    page.get_by_label("Label").fill(label)
    page.get_by_role("button", name="Create key").click()
    shown = page.locator("#new-key")
    expect(shown).to_be_visible()
    key = shown.input_value()
    assert key.startswith("hrld_")
    learnt_secrets.append(Needle("key created in the console", key))
    console.shot("keys-created")
    row = page.locator("tr", has_text=label)
    row.get_by_role("button", name="Revoke").click()
    expect(page.locator("tr", has_text=label).get_by_role("button", name="Revoke")).to_have_count(0)
    console.shot("keys-revoked")
    page.goto("/operations/credentials")
    expect(page.get_by_role("cell", name="fcm", exact=True)).to_be_visible()
    console.shot("credentials")
    console.check()


def park_a_push(stack: LocalStack, token: str, reason: str) -> None:
    """A dead letter of a push of the demo app to ``token``, as the FCM dispatcher parks one
    (produced from a thread: the browser's sync API owns this one's event loop)."""
    kafka = stack.kafka_settings()
    push = push_request(datetime.now(UTC), "fcm", token, app_id=stack.options.app_id)
    letter = DeadLetter(
        event_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        reason=reason,
        consumer_group="dispatcher-fcm",
        attempts=1,
        source=SourceRecord(
            topic=kafka.address(topics.PUSH["fcm"]),
            partition=0,
            offset=0,
            key=topics.PUSH["fcm"].key_of(push),
            value=encode(push),
        ),
    )
    parking = topics.by_name("push.fcm.dlq")
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, TopicIO(kafka).produce(parking, letter)).result()


def test_replay_a_dead_letter(console: Watched, stack: LocalStack) -> None:
    """A parked push of the signed-in app is listed with its reason; Replay sends it back to its
    topic and the FCM dispatcher delivers it."""
    token = f"{unique('fcm')}:{'D' * 40}"
    reason = f"400 INVALID_ARGUMENT: {unique('refused')}"
    park_a_push(stack, token, reason)
    page = console.page
    page.goto("/operations/dead-letters")
    row = page.locator("tr", has_text=reason)
    expect(row.get_by_role("cell", name="dispatcher-fcm")).to_be_visible()
    console.shot("dead-letters")
    row.get_by_role("button", name="Replay").click()
    expect(page.locator("#replay-notice")).to_contain_text("1 replayed, 0 skipped, 0 failed")
    assert wait_for_push(stack, token)
    console.check()
