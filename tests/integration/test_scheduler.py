"""The scheduler against the real broker and PostgreSQL: holding, releasing on time, expiry,
pacing, and local times and quiet hours from users' preferences."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts import topics
from contracts.notifications import NotificationDue
from contracts.schedule import NotificationExpired
from contracts.trace import NotificationTraced
from contracts.users import UserPreferences
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.postgres import EmbeddedPostgres
from shared.settings import KafkaSettings
from tests.support.clock import FrozenClock
from tests.support.factories import unique, user_notification
from tests.support.kafka import TopicIO, kafka_settings_for_test
from tests.support.registry import eventually
from tests.support.scheduler import (
    copy_states,
    fresh_database,
    preferences_known,
    running_scheduler,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def kafka(broker: EmbeddedBroker) -> KafkaSettings:
    return kafka_settings_for_test(broker.bootstrap)


@pytest.fixture
async def dsn(postgres: EmbeddedPostgres) -> str:
    return await fresh_database(postgres.dsn)


def has_user(user_id: str) -> Callable[[list[Any]], bool]:
    return lambda found: any(item.user_id == user_id for item in found)


def of_user(found: list[Any], user_id: str) -> list[Any]:
    return [item for item in found if item.user_id == user_id]


async def steps_of(io: TopicIO, user_id: str, *stages: str) -> dict[str, NotificationTraced]:
    """The user's trace steps by stage, read until every one of ``stages`` is there."""
    found = await io.read(
        topics.TRACE,
        until=lambda found: set(stages) <= {step.stage for step in of_user(found, user_id)},
    )
    return {step.stage: step for step in of_user(found, user_id)}


async def stored(dsn: str, *user_ids: str) -> None:
    async def check() -> bool:
        return set(user_ids) <= set(await copy_states(dsn))

    await eventually(check)


def preferences(clock: FrozenClock, user_id: str, revision: int = 1, **fields: Any) -> Any:
    return UserPreferences.model_validate(
        {
            "event_id": uuid.uuid4(),
            "app_id": "testapp",
            "occurred_at": clock.now(),
            "user_id": user_id,
            "revision": revision,
            **fields,
        }
    )


async def test_due_now_notifications_are_released_in_order(kafka: KafkaSettings, dsn: str) -> None:
    clock = FrozenClock()
    io = TopicIO(kafka)
    sent = [user_notification(clock.now(), user_id="u1") for _ in range(3)]

    async with running_scheduler(kafka, dsn, clock):
        await io.produce(topics.USER, *sent)
        due = await io.read(topics.DUE, until=lambda found: len(found) >= 3)

    assert all(isinstance(item, NotificationDue) for item in due)
    assert [d.notification_id for d in due] == [s.notification_id for s in sent]
    assert all(d.due_at == clock.now() for d in due)


async def test_a_notification_for_later_is_held_then_released_at_its_time(
    kafka: KafkaSettings, dsn: str
) -> None:
    clock = FrozenClock()
    io = TopicIO(kafka)
    send_at = clock.now() + timedelta(hours=1)
    later = user_notification(clock.now(), schedule={"send_at": send_at})

    async with running_scheduler(kafka, dsn, clock) as scheduler:
        await io.produce(topics.USER, later)
        await stored(dsn, later.user_id)
        clock.advance(minutes=59, seconds=59)
        scheduler.releaser.wake()
        just_before = user_notification(clock.now())
        await io.produce(topics.USER, just_before)
        early = await io.read(topics.DUE, until=has_user(just_before.user_id))
        clock.advance(seconds=1)
        scheduler.releaser.wake()
        due = await io.read(topics.DUE, until=has_user(later.user_id))

    assert of_user(early, later.user_id) == []
    [released] = of_user(due, later.user_id)
    assert released.due_at == send_at
    assert released.occurred_at == send_at
    assert (await copy_states(dsn))[later.user_id] == "released"
    steps = await steps_of(io, later.user_id, "held", "released")
    assert (steps["held"].reason, steps["held"].until) == ("schedule", send_at)
    assert steps["released"].occurred_at == send_at
    assert steps["released"].notification_id == later.notification_id
    assert set(await steps_of(io, just_before.user_id, "released")) == {"released"}


async def test_a_copy_past_its_deadline_is_reported_expired_and_never_sent(
    kafka: KafkaSettings, dsn: str
) -> None:
    clock = FrozenClock()
    io = TopicIO(kafka)
    send_at = clock.now() + timedelta(hours=1)
    doomed = user_notification(
        clock.now(), schedule={"send_at": send_at}, options={"ttl_seconds": 600}
    )

    async with running_scheduler(kafka, dsn, clock) as scheduler:
        await io.produce(topics.USER, doomed)
        await stored(dsn, doomed.user_id)
        clock.advance(hours=2)  # the scheduler could not look in time (down, or overloaded)
        scheduler.releaser.wake()
        expired = await io.read(topics.EXPIRED, until=has_user(doomed.user_id))
        sentinel = user_notification(clock.now())
        await io.produce(topics.USER, sentinel)
        due = await io.read(topics.DUE, until=has_user(sentinel.user_id))

    [report] = of_user(expired, doomed.user_id)
    assert isinstance(report, NotificationExpired)
    assert report.deadline == send_at + timedelta(seconds=600)
    assert report.notification_id == doomed.notification_id
    assert of_user(due, doomed.user_id) == []
    assert (await copy_states(dsn))[doomed.user_id] == "expired"
    assert set(await steps_of(io, doomed.user_id, "held", "expired")) == {"held", "expired"}


async def test_a_paced_send_goes_out_at_the_rate_asked(kafka: KafkaSettings, dsn: str) -> None:
    clock = FrozenClock()
    io = TopicIO(kafka)
    campaign = uuid.uuid4()
    copies = [
        user_notification(clock.now(), notification_id=campaign, schedule={"rate_per_minute": 60})
        for _ in range(6)
    ]
    ours = {copy.user_id for copy in copies}
    released_by: dict[float, int] = {}

    async with running_scheduler(kafka, dsn, clock) as scheduler:
        await io.produce(topics.USER, *copies)
        await stored(dsn, *ours)
        for elapsed in (0.0, 2.5, 5.5):
            clock.current = copies[0].accepted_at + timedelta(seconds=elapsed)
            scheduler.releaser.wake()
            sentinel = user_notification(clock.now())
            await io.produce(topics.USER, sentinel)
            due = await io.read(topics.DUE, until=has_user(sentinel.user_id))
            released_by[elapsed] = len([d for d in due if d.user_id in ours])

    assert released_by == {0.0: 1, 2.5: 3, 5.5: 6}
    steps = [await steps_of(io, copy.user_id, "released") for copy in copies]
    held = sorted((s["held"].until, s["held"].reason) for s in steps if "held" in s)
    start = copies[0].accepted_at
    assert held == [(start + timedelta(seconds=n), "pacing") for n in range(1, 6)]


async def test_local_time_follows_each_users_time_zone(kafka: KafkaSettings, dsn: str) -> None:
    clock = FrozenClock(datetime(2026, 3, 7, 12, tzinfo=UTC))
    io = TopicIO(kafka)
    berlin, new_york = unique("berlin"), unique("newyork")
    campaign = uuid.uuid4()
    schedule = {"local_time": "2026-03-08T09:00:00"}

    async with running_scheduler(kafka, dsn, clock) as scheduler:
        await io.produce(
            topics.PREFERENCES,
            preferences(clock, berlin, time_zone="Europe/Berlin"),
            preferences(clock, new_york, time_zone="America/New_York"),
        )
        await preferences_known(dsn, berlin, 1)
        await preferences_known(dsn, new_york, 1)
        await io.produce(
            topics.USER,
            *(
                user_notification(
                    clock.now(), user_id=user, notification_id=campaign, schedule=schedule
                )
                for user in (berlin, new_york)
            ),
        )
        await stored(dsn, berlin, new_york)
        clock.current = datetime(2026, 3, 8, 8, tzinfo=UTC)
        scheduler.releaser.wake()
        first = await io.read(topics.DUE, until=has_user(berlin))
        clock.current = datetime(2026, 3, 8, 13, tzinfo=UTC)
        scheduler.releaser.wake()
        both = await io.read(topics.DUE, until=has_user(new_york))

    assert of_user(first, new_york) == []
    assert of_user(both, berlin)[0].due_at == datetime(2026, 3, 8, 8, tzinfo=UTC)  # 09:00 CET
    assert of_user(both, new_york)[0].due_at == datetime(2026, 3, 8, 13, tzinfo=UTC)  # 09:00 EDT


async def test_quiet_hours_defer_or_expire_and_a_change_replans_held_copies(
    kafka: KafkaSettings, dsn: str
) -> None:
    clock = FrozenClock(datetime(2026, 1, 15, 22, tzinfo=UTC))  # 23:00 in Berlin
    io = TopicIO(kafka)
    user = unique("sleeper")
    night = {"start": "22:00", "end": "07:00"}
    long_night = {"start": "22:00", "end": "09:00"}
    deferred = user_notification(clock.now(), user_id=user)
    short_lived = user_notification(clock.now(), user_id=user, options={"ttl_seconds": 3600})
    urgent = user_notification(clock.now(), user_id=user, schedule={"urgent": True})

    async with running_scheduler(kafka, dsn, clock) as scheduler:
        await io.produce(
            topics.PREFERENCES,
            preferences(clock, user, time_zone="Europe/Berlin", quiet_hours=night),
        )
        await preferences_known(dsn, user, 1)
        await io.produce(topics.USER, deferred, short_lived, urgent)
        expired = await io.read(topics.EXPIRED, until=has_user(user))
        early = await io.read(topics.DUE, until=has_user(user))
        await io.produce(
            topics.PREFERENCES,
            preferences(clock, user, 2, time_zone="Europe/Berlin", quiet_hours=long_night),
        )
        await preferences_known(dsn, user, 2)
        clock.current = datetime(2026, 1, 16, 6, tzinfo=UTC)  # 07:00 in Berlin
        scheduler.releaser.wake()
        sentinel = user_notification(clock.now())
        await io.produce(topics.USER, sentinel)
        not_yet = await io.read(topics.DUE, until=has_user(sentinel.user_id))
        clock.current = datetime(2026, 1, 16, 8, tzinfo=UTC)  # 09:00 in Berlin
        scheduler.releaser.wake()
        late = await io.read(topics.DUE, until=lambda found: len(of_user(found, user)) >= 2)

    assert [e.notification_id for e in of_user(expired, user)] == [short_lived.notification_id]
    assert [d.notification_id for d in of_user(early, user)] == [urgent.notification_id]
    assert [d.notification_id for d in of_user(not_yet, user)] == [urgent.notification_id]
    [moved] = [d for d in of_user(late, user) if d.notification_id == deferred.notification_id]
    assert moved.due_at == datetime(2026, 1, 16, 8, tzinfo=UTC)
    found = await io.read(topics.TRACE, until=lambda found: len(of_user(found, user)) >= 4)
    steps = {(s.notification_id, s.stage): s for s in of_user(found, user)}
    assert sorted(steps) == sorted((s.notification_id, s.stage) for s in of_user(found, user))
    assert set(steps) == {
        (deferred.notification_id, "held"),
        (deferred.notification_id, "released"),
        (short_lived.notification_id, "expired"),
        (urgent.notification_id, "released"),
    }
    held = steps[(deferred.notification_id, "held")]
    assert (held.reason, held.until) == ("quiet_hours", datetime(2026, 1, 16, 6, tzinfo=UTC))
