"""End to end through every service process, the real broker, PostgreSQL and the FCM emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from contracts import topics
from contracts.notifications import NotificationRejected
from services.devstack.stack import LocalStack
from tests.support.factories import submitted, unique
from tests.support.stack_client import StackClient

pytestmark = pytest.mark.e2e


@pytest.fixture
async def client(stack: LocalStack) -> AsyncIterator[StackClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield StackClient(stack, http)


def badge_of(push: dict[str, Any]) -> int:
    message = push["message"]
    return int(message["android"]["notification"]["notification_count"])


async def test_http_and_kafka_sends_reach_every_device_with_the_badge(client: StackClient) -> None:
    user = unique("user")
    tokens = [await client.register_fcm_device(user) for _ in range(2)]
    http_key = unique("key")
    body = {
        "idempotency_key": http_key,
        "audience": {"user_ids": [user]},
        "content": {"title": "First", "body": "Over HTTP"},
    }

    sent = await client.send(body)
    assert sent.status_code == 202, sent.text
    for token in tokens:
        await client.wait_for_pushes(token, lambda pushes: len(pushes) >= 1)
    await client.topics.produce(
        topics.SUBMITTED,
        submitted(
            datetime.now(UTC),
            [user],
            app_id=client.stack.options.app_id,
            content={"title": "Second", "body": "Second body"},
        ),
    )
    pushes = {
        token: await client.wait_for_pushes(token, lambda found: len(found) >= 2)
        for token in tokens
    }

    for token, received in pushes.items():
        messages = [push["message"] for push in received]
        assert [m["token"] for m in messages] == [token, token]
        assert [m["notification"]["title"] for m in messages] == ["First", "Second"]
        assert [m["notification"]["body"] for m in messages] == ["Over HTTP", "Second body"]
        assert [badge_of(push) for push in received] == [1, 2]

    replay = await client.send(body)
    assert replay.status_code == 202
    assert replay.json()["notification_id"] == sent.json()["notification_id"]
    sentinel_body = {**body, "idempotency_key": unique("key"), "content": {"title": "Third"}}
    assert (await client.send(sentinel_body)).status_code == 202
    for token in tokens:
        final = await client.wait_for_pushes(token, lambda found: len(found) >= 3)
        titles = [push["message"]["notification"]["title"] for push in final]
        assert titles == ["First", "Second", "Third"]
        assert badge_of(final[-1]) == 3


async def test_malformed_submissions_are_rejected_and_good_ones_still_flow(
    client: StackClient,
) -> None:
    user = unique("user")
    token = await client.register_fcm_device(user)
    marker = unique("bad")
    await client.topics.produce_raw(topics.SUBMITTED, (marker.encode(), b'{"type": "notifi'))
    good = submitted(
        datetime.now(UTC),
        [user],
        app_id=client.stack.options.app_id,
        content={"title": "Still flowing", "body": "Still flowing body"},
    )
    await client.topics.produce(topics.SUBMITTED, good)

    rejected = await client.topics.read(
        topics.REJECTED,
        until=lambda found: any(r.source.key == marker.encode() for r in found),
    )
    pushes = await client.wait_for_pushes(token, lambda found: len(found) >= 1)

    mine = [r for r in rejected if r.source.key == marker.encode()]
    assert isinstance(mine[0], NotificationRejected)
    assert "not valid JSON" in mine[0].reason
    assert pushes[0]["message"]["notification"]["title"] == "Still flowing"
