"""Badges end to end: a read on one device updates the badge and clears the others."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from contracts import topics
from contracts.badges import BadgeChanged
from services.devstack.stack import LocalStack
from services.ingest.identity import NotificationIds
from shared.secrets import SecretBox, SecretsSettings
from tests.support.factories import unique
from tests.support.stack_client import StackClient

pytestmark = pytest.mark.e2e


@pytest.fixture
async def client(stack: LocalStack) -> AsyncIterator[StackClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield StackClient(stack, http)


def is_sync(push: dict[str, Any]) -> bool:
    return "notification" not in push["message"]


def badge_in(push: dict[str, Any]) -> int:
    return int(push["message"]["data"]["herald_badge"])


def titles(pushes: list[dict[str, Any]]) -> list[str]:
    return [p["message"]["notification"]["title"] if not is_sync(p) else "sync" for p in pushes]


async def send(client: StackClient, user: str, title: str) -> str:
    response = await client.send(
        {
            "idempotency_key": unique("key"),
            "audience": {"user_ids": [user]},
            "content": {"title": title, "body": "b"},
        }
    )
    assert response.status_code == 202, response.text
    return str(response.json()["notification_id"])


async def changes_for(client: StackClient, user: str, until: int) -> list[BadgeChanged]:
    found = await client.topics.read(
        topics.BADGES,
        until=lambda items: sum(1 for c in items if c.user_id == user) >= until,
    )
    return [c for c in found if isinstance(c, BadgeChanged) and c.user_id == user]


async def test_a_read_on_one_device_syncs_the_other_devices(client: StackClient) -> None:
    user = unique("user")
    (a, a_id), (b, _), (c, _) = [await client.register_fcm(user) for _ in range(3)]
    first = await send(client, user, "one")
    for token in (a, b, c):
        await client.wait_for_pushes(token, lambda found: len(found) >= 1)
    await send(client, user, "two")
    for token in (a, b, c):
        pushes = await client.wait_for_pushes(token, lambda found: len(found) >= 2)
        assert [badge_in(p) for p in pushes] == [1, 2]

    read = {"device_id": a_id, "notification_ids": [first]}
    assert (await client.report_reads(user, read)).status_code == 202
    for token in (b, c):
        pushes = await client.wait_for_pushes(token, lambda found: len(found) >= 3)
        assert titles(pushes) == ["one", "two", "sync"]
        assert badge_in(pushes[2]) == 1
    await send(client, user, "three")
    pushes_a = await client.wait_for_pushes(a, lambda found: "three" in titles(found))
    assert titles(pushes_a) == ["one", "two", "three"]

    assert (await client.report_reads(user, read)).status_code == 202
    assert (await client.report_reads(user, {"all": True})).status_code == 202
    changes = await changes_for(client, user, until=2)
    assert [(ch.badge, str(ch.reported_by_device)) for ch in changes] == [
        (1, a_id),
        (0, "None"),
    ]
    badge = await client.badge(user)
    assert (badge["badge"], badge["unread"]) == (0, [])


async def test_a_notification_read_before_it_came_due_is_never_pushed(
    client: StackClient,
) -> None:
    user = unique("user")
    token, _ = await client.register_fcm(user)
    app = client.stack.options.app_id
    early_key = unique("key")
    secrets = SecretsSettings(secrets_keys=[SecretStr(client.stack.secrets_key)])
    early_id = str(NotificationIds(SecretBox(secrets)).of(app, early_key))
    delivered = await send(client, user, "delivered")
    await client.wait_for_pushes(token, lambda found: len(found) >= 1)
    report = {"notification_ids": [delivered, early_id]}
    assert (await client.report_reads(user, report, headers=client.auth)).status_code == 202
    await changes_for(client, user, until=1)

    early = await client.send(
        {
            "idempotency_key": early_key,
            "audience": {"user_ids": [user]},
            "content": {"title": "read already", "body": "b"},
        }
    )
    assert early.json()["notification_id"] == early_id
    await send(client, user, "sentinel")

    pushes = await client.wait_for_pushes(token, lambda found: "sentinel" in titles(found))
    assert "read already" not in titles(pushes)
    assert badge_in(pushes[-1]) == 1
