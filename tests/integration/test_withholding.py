"""Category and platform opt-outs and frequency caps on the real broker and PostgreSQL: the registry
takes the user's choice, the scheduler (categories, caps) and the registry's fan-out (platforms)
withhold exactly the right pushes and report why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from contracts import topics
from contracts.categories import CategoryRules, FrequencyCap
from contracts.notifications import NotificationWithheld, UserNotification
from services.scheduler.app import SCHEMA
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.postgres import EmbeddedPostgres
from tests.support.clock import FrozenClock
from tests.support.factories import apns_token, unique, user_notification
from tests.support.kafka import TopicIO, kafka_settings_for_test
from tests.support.registry import counted, fcm_token, running_registry
from tests.support.scheduler import fresh_database, preferences_known, running_scheduler

pytestmark = pytest.mark.integration

START = datetime(2026, 3, 1, 12, tzinfo=UTC)
TWO_AN_HOUR = CategoryRules(cap=FrequencyCap(limit=2, window_seconds=3600))


def marketing(clock: FrozenClock, user: str, **fields: Any) -> UserNotification:
    return user_notification(
        clock.now(), user_id=user, category="marketing", category_rules=TWO_AN_HOUR, **fields
    )


async def read_ids(io: TopicIO, user: str, topic: Any, count: int) -> list[Any]:
    found = await io.read(
        topic, until=lambda seen: sum(1 for e in seen if e.user_id == user) >= count
    )
    return [e for e in found if e.user_id == user]


async def counted_rows(dsn: str, user: str) -> int:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": SCHEMA})
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM frequency_counts WHERE user_id = $1", user)
        )
    finally:
        await conn.close()


async def test_a_category_opt_out_withholds_exactly_that_users_copies_of_it(
    broker: EmbeddedBroker, postgres: EmbeddedPostgres
) -> None:
    dsn = await fresh_database(postgres.dsn)
    ana, bob = unique("ana"), unique("bob")
    clock = FrozenClock(START)
    async with running_registry(broker.bootstrap, dsn) as registry:
        async with registry.as_user(ana) as ana_api:
            put = await ana_api.put(
                f"/v1/users/{ana}/preferences", json={"categories": {"marketing": False}}
            )
        async with running_scheduler(registry.io.settings, dsn, clock):
            await preferences_known(dsn, ana, 1)
            ana_marketing = marketing(clock, ana)
            ana_other = user_notification(clock.now(), user_id=ana, category="orders")
            ana_receipt = marketing(clock, ana, transactional=True)
            bob_marketing = marketing(clock, bob)
            await registry.io.produce(
                topics.USER, ana_marketing, ana_other, ana_receipt, bob_marketing
            )
            due_ana = await read_ids(registry.io, ana, topics.DUE, 2)
            due_bob = await read_ids(registry.io, bob, topics.DUE, 1)
            [withheld] = await read_ids(registry.io, ana, topics.WITHHELD, 1)
            ana_steps = await read_ids(registry.io, ana, topics.TRACE, 3)

    assert put.status_code == 200, put.text
    assert put.json()["categories"] == {"marketing": False}
    assert {d.notification_id for d in due_ana} == {
        ana_other.notification_id,
        ana_receipt.notification_id,
    }
    assert [d.notification_id for d in due_bob] == [bob_marketing.notification_id]
    assert isinstance(withheld, NotificationWithheld)
    assert (withheld.notification_id, withheld.reason, withheld.category) == (
        ana_marketing.notification_id,
        "category_opt_out",
        "marketing",
    )
    assert sorted((s.notification_id, s.stage, s.reason, s.category) for s in ana_steps) == sorted(
        [
            (ana_marketing.notification_id, "withheld", "category_opt_out", "marketing"),
            (ana_other.notification_id, "released", None, None),
            (ana_receipt.notification_id, "released", None, None),
        ]
    )


async def test_a_frequency_cap_lets_n_through_per_rolling_window_counting_each_push_once(
    broker: EmbeddedBroker, postgres: EmbeddedPostgres
) -> None:
    dsn = await fresh_database(postgres.dsn)
    kafka = kafka_settings_for_test(broker.bootstrap)
    io = TopicIO(kafka)
    user = unique("capped")
    clock = FrozenClock(START)
    first = [marketing(clock, user) for _ in range(3)]
    async with running_scheduler(kafka, dsn, clock) as scheduler:
        await io.produce(topics.USER, *first)
        await io.produce(topics.USER, first[0])
        due = await read_ids(io, user, topics.DUE, 2)
        await read_ids(io, user, topics.WITHHELD, 1)
        clock.current = START + timedelta(minutes=30)
        half_hour = marketing(clock, user)
        await io.produce(topics.USER, half_hour)
        await read_ids(io, user, topics.WITHHELD, 2)
        clock.current = START + timedelta(hours=1, seconds=1)
        next_hour = marketing(clock, user)
        await io.produce(topics.USER, next_hour)
        scheduler.releaser.wake()
        due = await read_ids(io, user, topics.DUE, 3)
        withheld = await read_ids(io, user, topics.WITHHELD, 2)

    assert [d.notification_id for d in due] == [
        first[0].notification_id,
        first[1].notification_id,
        next_hour.notification_id,
    ]
    assert [(w.notification_id, w.reason) for w in withheld] == [
        (first[2].notification_id, "frequency_cap"),
        (half_hour.notification_id, "frequency_cap"),
    ]
    steps = await read_ids(io, user, topics.TRACE, 5)
    assert sorted((s.notification_id, s.reason) for s in steps if s.stage == "withheld") == sorted(
        (w.notification_id, w.reason) for w in withheld
    )
    assert await counted_rows(dsn, user) == 3


async def test_a_platform_the_user_turned_off_gets_nothing_but_transactional_pushes(
    broker: EmbeddedBroker, postgres: EmbeddedPostgres
) -> None:
    user = unique("no-apns")
    # A database of its own: on the session's, the registry would announce every app other
    # modules created, which needs the secrets those modules' services had.
    dsn = await fresh_database(postgres.dsn)
    async with running_registry(broker.bootstrap, dsn) as registry:
        for platform, token in (("fcm", fcm_token()), ("apns", apns_token())):
            reply = await registry.api.post(
                "/v1/devices", json={"user_id": user, "platform": platform, "token": token}
            )
            assert reply.status_code == 201, reply.text
        choice = await registry.api.put(
            f"/v1/users/{user}/preferences", json={"channels": {"apns": False}}
        )
        plain = counted(registry.clock.now(), user)
        receipt = counted(registry.clock.now(), user, transactional=True)
        await registry.io.produce(topics.COUNTED, plain, receipt)
        fcm = await read_ids(registry.io, user, topics.PUSH["fcm"], 2)
        apns = await read_ids(registry.io, user, topics.PUSH["apns"], 1)
        [withheld] = await read_ids(registry.io, user, topics.WITHHELD, 1)
        steps = await read_ids(registry.io, user, topics.TRACE, 3)

    assert choice.status_code == 200, choice.text
    assert sorted((s.notification_id, s.stage, s.reason, s.devices) for s in steps) == sorted(
        [
            (plain.notification_id, "fanned_out", None, {"fcm": 1}),
            (plain.notification_id, "withheld", "channel_opt_out", {"apns": 1}),
            (receipt.notification_id, "fanned_out", None, {"fcm": 1, "apns": 1}),
        ]
    )
    assert choice.json()["channels"] == {"apns": False}
    assert [p.notification_id for p in fcm] == [plain.notification_id, receipt.notification_id]
    assert [p.notification_id for p in apns] == [receipt.notification_id]
    assert (withheld.notification_id, withheld.reason, withheld.platforms) == (
        plain.notification_id,
        "channel_opt_out",
        ["apns"],
    )
