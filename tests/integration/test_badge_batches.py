"""Property: badge-count decides a batch of due notifications exactly as it would one at a time.

The handler works a whole batch with a few statements; users' later messages must still see the
state their earlier ones left (counts, explicit badges, redeliveries inside the batch, reads that
came first). Two users get the same story: one message by message, the other in one batch.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.badges import ReadsReported
from contracts.base import derived_id
from contracts.content import Content, DeliveryOptions
from contracts.notifications import NotificationCounted, NotificationDue
from services.badge_count.handlers import DueHandler, ReadsHandler
from services.badge_count.store import BadgeStore
from shared.kafka import Received
from tests.support.clock import FrozenClock
from tests.support.publisher import RecordingPublisher

pytestmark = pytest.mark.integration

APP = "batchapp"
rules = st.one_of(st.sampled_from(["auto", "increment", "leave"]), st.integers(0, 5))
deliveries = st.lists(st.tuples(st.integers(0, 5), rules, st.booleans()), min_size=1, max_size=20)


def story(user: str, steps: list[tuple[int, Any, bool]]) -> list[NotificationDue]:
    """One due event per step; a repeated index is the same notification delivered again."""
    clock = FrozenClock()
    events = []
    for index, rule, visible in steps:
        notification = derived_id(user, index)
        events.append(
            NotificationDue(
                event_id=derived_id(notification, user, "due"),
                app_id=APP,
                occurred_at=clock.now(),
                notification_id=notification,
                user_id=user,
                content=Content(title="t") if visible else Content(data={"d": "1"}),
                options=DeliveryOptions(badge=rule),
                accepted_at=clock.now(),
                due_at=clock.now(),
            )
        )
    return events


async def read_first(pool: asyncpg.Pool, store: BadgeStore, user: str, indexes: set[int]) -> None:
    if not indexes:
        return
    report = ReadsReported(
        event_id=uuid.uuid4(),
        app_id=APP,
        occurred_at=FrozenClock().now(),
        user_id=user,
        notification_ids=[derived_id(user, index) for index in sorted(indexes)],
    )
    await ReadsHandler(pool, store, RecordingPublisher(), FrozenClock())([received(report)])


def received(message: Any) -> Received[Any]:
    return Received(message, "t", 0, 0, None, b"")


def outcome(bus: RecordingPublisher) -> list[tuple[str, int | None, int | None]]:
    return [
        (str(event.content.visible), event.badge, event.badge_seq)
        for event in bus.messages
        if isinstance(event, NotificationCounted)
    ]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=deliveries, read=st.sets(st.integers(0, 5), max_size=3))
async def test_a_batch_decides_as_messages_one_at_a_time_would(
    badge_pool: asyncpg.Pool, steps: list[tuple[int, Any, bool]], read: set[int]
) -> None:
    pool = badge_pool
    store = BadgeStore(pool)
    alone, together = f"one-{uuid.uuid4().hex[:10]}", f"all-{uuid.uuid4().hex[:10]}"
    for user in (alone, together):
        await read_first(pool, store, user, read)
    one_by_one, batched = RecordingPublisher(), RecordingPublisher()

    for event in story(alone, steps):
        await DueHandler(pool, store, one_by_one, FrozenClock())([received(event)])
    await DueHandler(pool, store, batched, FrozenClock())(
        [received(event) for event in story(together, steps)]
    )

    assert outcome(batched) == outcome(one_by_one)
    assert await store.badge_of(APP, together) == await store.badge_of(APP, alone)
    unread = "SELECT count(*) FROM counted WHERE app_id = $1 AND user_id = $2 AND read_at IS NULL"
    assert await pool.fetchval(unread, APP, together) == await pool.fetchval(unread, APP, alone)
