"""Several scheduler replicas on one database: each copy is released once, and a replica that dies
mid-release loses nothing (another publishes its copies again under the same event ids)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta

import asyncpg
import pytest

from contracts import topics
from contracts.base import Model, derived_id
from contracts.topics import Topic
from services.scheduler.app import SCHEMA
from services.scheduler.release import ReleaseLoop
from services.scheduler.store import SchedulerStore
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.postgres import EmbeddedPostgres
from shared.kafka import Bus, create_bus
from shared.settings import KafkaSettings
from tests.support.clock import FrozenClock
from tests.support.factories import user_notification
from tests.support.kafka import TopicIO, kafka_settings_for_test
from tests.support.registry import eventually
from tests.support.scheduler import copy_states, fresh_database, running_scheduler

pytestmark = pytest.mark.integration

VICTIM = "herald-scheduler-victim"


@pytest.fixture
def kafka(broker: EmbeddedBroker) -> KafkaSettings:
    return kafka_settings_for_test(broker.bootstrap)


@pytest.fixture
async def dsn(postgres: EmbeddedPostgres) -> str:
    return await fresh_database(postgres.dsn)


async def all_in_state(dsn: str, users: set[str], state: str) -> None:
    async def check() -> bool:
        states = await copy_states(dsn)
        return all(states.get(user) == state for user in users)

    await eventually(check)


async def test_two_replicas_release_each_held_copy_exactly_once(
    kafka: KafkaSettings, dsn: str
) -> None:
    clock = FrozenClock()
    io = TopicIO(kafka)
    copies = [
        user_notification(clock.now(), schedule={"send_at": clock.now() + timedelta(hours=1)})
        for _ in range(200)
    ]
    users = {copy.user_id for copy in copies}

    async with (
        running_scheduler(kafka, dsn, clock, scheduler_release_batch=7) as one,
        running_scheduler(kafka, dsn, clock, scheduler_release_batch=7) as other,
    ):
        await io.produce(topics.USER, *copies)
        await all_in_state(dsn, users, "held")
        clock.advance(hours=1)
        one.releaser.wake()
        other.releaser.wake()
        await all_in_state(dsn, users, "released")
        due = await io.read(topics.DUE, until=lambda found: len(found) >= len(copies))

    assert len(due) == len(copies)
    assert {d.event_id for d in due} == {derived_id(c.event_id, "due") for c in copies}


class FrozenMidRelease:
    """A replica's publisher that stops forever at one line of the release, as a process does when
    it is killed there: after its events reached the broker, or before."""

    def __init__(self, bus: Bus, *, publish_first: bool) -> None:
        self.bus = bus
        self.publish_first = publish_first
        self.reached = asyncio.Event()

    async def publish_all(self, items: Iterable[tuple[Topic, Model]]) -> None:
        if self.publish_first:
            await self.bus.publish_all(items)
        self.reached.set()
        await asyncio.Event().wait()


async def kill_sessions(dsn: str, application_name: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        killed: int = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = $1",
            application_name,
        )
    finally:
        await conn.close()
    return killed


@pytest.mark.parametrize("publish_first", [True, False], ids=["after-publish", "before-publish"])
async def test_a_replica_killed_mid_release_loses_nothing(
    kafka: KafkaSettings, dsn: str, publish_first: bool
) -> None:
    clock = FrozenClock()
    io = TopicIO(kafka)
    send_at = clock.now() + timedelta(hours=1)
    copies = [user_notification(clock.now(), schedule={"send_at": send_at}) for _ in range(30)]
    users = {copy.user_id for copy in copies}
    victim_clock = FrozenClock(send_at)

    async with running_scheduler(kafka, dsn, clock) as survivor:
        await io.produce(topics.USER, *copies)
        await all_in_state(dsn, users, "held")
        victim_pool = await asyncpg.create_pool(
            dsn, server_settings={"search_path": SCHEMA, "application_name": VICTIM}
        )
        victim_bus = create_bus(kafka, client_id="victim")
        await victim_bus.broker.start()
        frozen = FrozenMidRelease(victim_bus, publish_first=publish_first)
        victim = ReleaseLoop(
            SchedulerStore(victim_pool),
            frozen,
            victim_clock,
            batch_size=1000,
            poll=timedelta(seconds=1),
            lock_timeout=timedelta(minutes=5),
            retention=timedelta(days=7),
        )
        releasing = asyncio.create_task(victim.release_due())
        await asyncio.wait_for(frozen.reached.wait(), timeout=15)

        clock.advance(hours=1)
        survivor.releaser.wake()
        sentinel = user_notification(clock.now())
        await io.produce(topics.USER, sentinel)
        await io.read(
            topics.DUE, until=lambda found: any(d.user_id == sentinel.user_id for d in found)
        )
        held_while_frozen = await copy_states(dsn)

        assert await kill_sessions(dsn, VICTIM) >= 1
        releasing.cancel()
        with contextlib.suppress(
            asyncio.CancelledError,
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,
            asyncpg.PostgresError,
        ):
            await releasing
        victim_pool.terminate()
        await victim_bus.broker.stop()

        survivor.releaser.wake()
        await all_in_state(dsn, users, "released")
        due = await io.read(topics.DUE, until=lambda found: users <= {d.user_id for d in found})

    assert all(held_while_frozen[user] == "held" for user in users)
    ours = [d for d in due if d.user_id in users]
    assert {d.event_id for d in ours} == {derived_id(c.event_id, "due") for c in copies}
    per_copy = Counter(d.event_id for d in ours)
    assert set(per_copy.values()) == ({2} if publish_first else {1})
