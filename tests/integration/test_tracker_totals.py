"""A notification's running total always equals the sum of its users' stored tallies: after steps
redelivered or out of order, across concurrent batches on the same notifications, and for the
rows an older tracker wrote before the totals existed (backfilled by the migration)."""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import uuid
from collections.abc import AsyncIterator, Collection, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr

from contracts.trace import NotificationTraced, Stage
from services.tracker import domain
from services.tracker.app import MIGRATIONS
from services.tracker.handlers import TraceHandler
from services.tracker.store import NUMBERS, TrackerStore
from shared.db import Connection, create_pool, migrate, transaction
from shared.embedded.postgres import EmbeddedPostgres
from shared.kafka import Received
from shared.settings import DatabaseSettings
from tests.support.registry import eventually

pytestmark = pytest.mark.integration

APP = "totalsapp"
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
USERS = [f"user-{index}" for index in range(6)]


def user_steps(notification_id: uuid.UUID, user: str, seed: int) -> list[NotificationTraced]:
    """One user's story: counted, fanned out to two devices, one delivered and opened, the other
    failing for a reason that depends on the user (so reason maps have several keys)."""
    phone, tablet = uuid.uuid4(), uuid.uuid4()

    def step(
        stage: Stage, minute: int, device: uuid.UUID | None = None, **fields: Any
    ) -> NotificationTraced:
        return NotificationTraced.step(
            stage,
            app_id=APP,
            notification_id=notification_id,
            occurred_at=T0 + timedelta(minutes=minute),
            user_id=user,
            device_id=device,
            **fields,
        )

    reason = ("Unregistered", "BadDeviceToken")[seed % 2]
    return [
        step("counted", 1, badge=1),
        step("fanned_out", 2, devices={"fcm": 1, "apns": 1}),
        step("sent", 3, phone, platform="fcm", outcome="delivered", attempt=1),
        step("sent", 3, tablet, platform="apns", outcome="failed", reason="503", attempt=1),
        step("sent", 4, tablet, platform="apns", outcome="token_invalid", reason=reason, attempt=2),
        step("withheld", 4, reason="quiet_hours" if seed % 3 else "opt_out", platform="webpush"),
        step("opened", 9, phone, platform="fcm"),
    ]


def received(steps: Sequence[NotificationTraced]) -> list[Received[NotificationTraced]]:
    return [Received(step, "t", 0, 0, None, b"") for step in steps]


@pytest.fixture
def schema() -> str:
    """A schema of this test's own."""
    return f"tracker_{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def pool(postgres: EmbeddedPostgres, schema: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the test's schema, not yet migrated."""
    settings = DatabaseSettings(
        database_dsn=SecretStr(postgres.dsn), database_pool_min=4, database_pool_max=4
    )
    created = await create_pool(settings, schema)
    yield created
    await created.close()


async def stored_tallies(
    store: TrackerStore, keys: Collection[domain.UserTallyKey]
) -> dict[domain.UserTallyKey, domain.Tally]:
    async with store.pool.acquire() as conn:
        return {key: tally for key, (tally, _) in (await store.progress_of(conn, keys)).items()}


async def write_as_older_tracker(
    conn: Connection, tallies: dict[domain.UserTallyKey, domain.Tally]
) -> None:
    """Replace tallies as a tracker that does not keep progress does: tally columns only."""
    columns = ", ".join(NUMBERS)
    await conn.executemany(
        f"INSERT INTO user_tallies (app_id, notification_id, user_id, {columns}, failed, withheld)"  # noqa: S608
        f" VALUES ({', '.join(f'${i + 1}' for i in range(len(NUMBERS) + 5))})"
        " ON CONFLICT (app_id, notification_id, user_id) DO UPDATE SET"
        f" {', '.join(f'{name} = EXCLUDED.{name}' for name in (*NUMBERS, 'failed', 'withheld'))}",
        [
            (
                *key,
                *(getattr(tally, name) for name in NUMBERS),
                json.dumps(tally.failed),
                json.dumps(tally.withheld),
            )
            for key, tally in tallies.items()
        ],
    )


async def advisory_lock_awaited(pool: asyncpg.Pool) -> bool:
    waiting: bool = await pool.fetchval(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted)"
    )
    return waiting


async def assert_totals_are_sums(store: TrackerStore, everything: list[NotificationTraced]) -> None:
    """Each notification's total is the sum of its stored tallies and what its steps add up to."""
    notifications = sorted({step.notification_id for step in everything})
    users = {(APP, s.notification_id, s.user_id) for s in everything if s.user_id is not None}
    stored = await stored_tallies(store, users)
    totals = await store.counts_of_each(APP, notifications)
    for notification_id in notifications:
        tallies = [tally for key, tally in stored.items() if key[1] == notification_id]
        own = [s for s in everything if s.notification_id == notification_id]
        assert totals[notification_id] == sum(tallies, domain.Tally())
        assert totals[notification_id] == domain.summarize(own).counts
        assert list(totals[notification_id].failed) == sorted(totals[notification_id].failed)


async def test_redelivered_out_of_order_and_concurrent_batches_keep_totals_equal_to_sums(
    pool: asyncpg.Pool, schema: str
) -> None:
    await migrate(pool, schema, MIGRATIONS)
    store = TrackerStore(pool)
    handler = TraceHandler(pool, store)
    first, second = uuid.uuid4(), uuid.uuid4()
    everything = [
        step
        for seed, user in enumerate(USERS)
        for notification_id in (first, second)
        for step in user_steps(notification_id, user, seed)
    ]
    shuffled = list(everything)
    random.Random(19).shuffle(shuffled)

    # Late stages before early ones, then every step again among new ones.
    await handler(received(shuffled[: len(shuffled) // 3][::-1]))
    await assert_totals_are_sums(store, shuffled[: len(shuffled) // 3])
    await handler(received(shuffled[: 2 * len(shuffled) // 3]))
    await assert_totals_are_sums(store, shuffled[: 2 * len(shuffled) // 3])

    # A batch waits for its notifications' locks while another transaction holds them (a batch
    # in flight on another consumer), so it reads old tallies and totals only once that commits.
    rest = shuffled[2 * len(shuffled) // 3 :]
    async with pool.acquire() as holder, holder.transaction():
        await store.lock_notifications(holder, [(APP, second), (APP, first)])
        waiting = asyncio.create_task(handler(received(rest[::2])))
        await eventually(lambda: advisory_lock_awaited(pool))
        assert not waiting.done()
    await waiting
    await assert_totals_are_sums(store, [*shuffled[: 2 * len(shuffled) // 3], *rest[::2]])

    # Two batches at once with different steps of the same users of both notifications.
    await asyncio.gather(handler(received(rest[1::2])), handler(received(rest[::-3])))
    await assert_totals_are_sums(store, everything)

    await asyncio.gather(*(handler(received(rest[index::3])) for index in range(3)))
    await assert_totals_are_sums(store, everything)
    assert (await store.counts_of(APP, uuid.uuid4())) == domain.Tally()


async def test_the_migration_backfills_totals_of_tallies_written_before_it(
    pool: asyncpg.Pool, schema: str, tmp_path: Path
) -> None:
    earlier = tmp_path / "migrations"
    earlier.mkdir()
    for path in sorted(MIGRATIONS.glob("*.sql"))[:3]:
        shutil.copy(path, earlier / path.name)
    assert await migrate(pool, schema, earlier) == [1, 2, 3]
    store = TrackerStore(pool)
    everything = [
        step
        for notification_id in (uuid.uuid4(), uuid.uuid4())
        for seed, user in enumerate(USERS)
        for step in user_steps(notification_id, user, seed)
    ]
    by_user: dict[domain.UserTallyKey, list[NotificationTraced]] = {}
    for step in everything:
        assert step.user_id is not None
        by_user.setdefault((APP, step.notification_id, step.user_id), []).append(step)
    async with store.pool.acquire() as conn:  # what the tracker before totals wrote
        await store.record_steps(conn, everything)
        await write_as_older_tracker(conn, {key: domain.tally(s) for key, s in by_user.items()})

    assert await migrate(pool, schema, MIGRATIONS) == [4, 5]

    await assert_totals_are_sums(store, everything)
    handler = TraceHandler(pool, store)
    await handler(received(everything[:5]))  # a redelivery after the upgrade moves nothing
    await assert_totals_are_sums(store, everything)


async def test_pruning_a_few_rows_at_a_time_keeps_totals_equal_to_the_tallies_left(
    pool: asyncpg.Pool, schema: str
) -> None:
    await migrate(pool, schema, MIGRATIONS)
    store = TrackerStore(pool)
    handler = TraceHandler(pool, store)
    notification_id = uuid.uuid4()
    everything = [
        step for seed, user in enumerate(USERS) for step in user_steps(notification_id, user, seed)
    ]
    await handler(received(everything))
    keys = {(APP, notification_id, user) for user in USERS}

    async def total_is_sum_of_tallies_left() -> int:
        left = await stored_tallies(store, keys)
        assert await store.counts_of(APP, notification_id) == sum(left.values(), domain.Tally())
        return len(left)

    later = T0 + timedelta(days=1)
    await store.prune(later, 2)
    assert await total_is_sum_of_tallies_left() == len(USERS) - 2
    # A step arriving late for every user: those already pruned come back with what is left.
    late = [
        NotificationTraced.step(
            "opened",
            app_id=APP,
            notification_id=notification_id,
            occurred_at=T0 + timedelta(minutes=30),
            user_id=user,
            device_id=uuid.uuid4(),
            platform="fcm",
        )
        for user in USERS
    ]
    await handler(received(late))
    assert await total_is_sum_of_tallies_left() == len(USERS)
    while await store.prune(later, 2):
        await total_is_sum_of_tallies_left()
    assert await total_is_sum_of_tallies_left() == 0
    assert await store.counts_of(APP, notification_id) == domain.Tally()
    assert await pool.fetchval("SELECT count(*) FROM notification_totals") == 0


async def test_a_repeated_or_late_step_moves_a_tally_once_and_the_first_copy_counts(
    pool: asyncpg.Pool, schema: str
) -> None:
    await migrate(pool, schema, MIGRATIONS)
    store = TrackerStore(pool)
    handler = TraceHandler(pool, store)
    notification_id = uuid.uuid4()
    everything = user_steps(notification_id, "alice", 1)
    counted, fanned_out, delivered, first_try, last_try, withheld, opened = everything
    # The same event id with another verdict: only the copy stored first may count.
    forged = last_try.model_copy(update={"outcome": "delivered", "reason": None})
    alice = (APP, notification_id, "alice")

    async def alice_now() -> domain.Tally:
        return (await stored_tallies(store, [alice]))[alice]

    await handler(received([opened, last_try, forged, last_try]))
    after_last_try = await alice_now()
    assert (after_last_try.sent, after_last_try.delivered, after_last_try.opened) == (1, 0, 0)
    assert after_last_try.failed == {"BadDeviceToken": 1}

    await handler(received([first_try, forged, counted, counted, opened]))
    assert await alice_now() == after_last_try

    await handler(received([*everything, forged, fanned_out, delivered, withheld]))
    tally = await alice_now()
    assert tally == domain.tally(everything)
    assert (tally.sent, tally.delivered, tally.opened, tally.settled) == (2, 1, 1, 1)
    assert (tally.failed, tally.withheld) == ({"BadDeviceToken": 1}, {"quiet_hours": 1})
    await assert_totals_are_sums(store, everything)


async def migrate_to_before_progress(pool: asyncpg.Pool, schema: str, tmp_path: Path) -> None:
    """The schema of the release before migration 005 (tallies without progress)."""
    earlier = tmp_path / "migrations"
    earlier.mkdir()
    for path in sorted(MIGRATIONS.glob("*.sql"))[:4]:
        shutil.copy(path, earlier / path.name)
    await migrate(pool, schema, earlier)


async def test_tallies_an_older_tracker_wrote_move_on_from_all_the_users_steps(
    pool: asyncpg.Pool, schema: str, tmp_path: Path
) -> None:
    await migrate_to_before_progress(pool, schema, tmp_path)
    store = TrackerStore(pool)
    notification_id = uuid.uuid4()
    by_user = {user: user_steps(notification_id, user, seed) for seed, user in enumerate(USERS)}
    before_upgrade = {(APP, notification_id, user): steps[:4] for user, steps in by_user.items()}
    async with transaction(pool) as conn:  # what the tracker before progress wrote
        await store.record_steps(conn, [s for steps in before_upgrade.values() for s in steps])
        tallies = {key: domain.tally(steps) for key, steps in before_upgrade.items()}
        await write_as_older_tracker(conn, tallies)
        await store.add_to_totals(conn, domain.total_changes(tallies, {}))

    assert await migrate(pool, schema, MIGRATIONS) == [5]
    await TraceHandler(pool, store)(received([s for steps in by_user.values() for s in steps[2:]]))

    await assert_totals_are_sums(store, [s for steps in by_user.values() for s in steps])
    assert await pool.fetchval("SELECT count(*) FROM user_tallies WHERE progress IS NULL") == 0


async def test_a_tally_moved_by_a_tracker_that_keeps_no_progress_is_rebuilt_from_the_steps(
    pool: asyncpg.Pool, schema: str
) -> None:
    """A replica of the release before migration 005 (rolling upgrade, rollback) moves a tally
    and leaves the progress beside it behind: the next batch must not fold into that."""
    await migrate(pool, schema, MIGRATIONS)
    store = TrackerStore(pool)
    handler = TraceHandler(pool, store)
    notification_id = uuid.uuid4()
    everything = user_steps(notification_id, "alice", 1)
    counted, fanned_out, delivered, first_try, last_try, withheld, opened = everything
    alice = (APP, notification_id, "alice")

    await handler(received([counted, fanned_out]))
    async with transaction(pool) as conn:  # the older replica's batch
        await store.lock_notifications(conn, [(APP, notification_id)])
        await store.record_steps(conn, [delivered, opened])
        before = await stored_tallies(store, [alice])
        moved = {alice: domain.tally([counted, fanned_out, delivered, opened])}
        await write_as_older_tracker(conn, moved)
        await store.add_to_totals(conn, domain.total_changes(moved, before))
    await handler(received([first_try, last_try, withheld]))

    tally = (await stored_tallies(store, [alice]))[alice]
    assert (tally.sent, tally.delivered, tally.opened, tally.settled) == (2, 1, 1, 1)
    assert tally == domain.tally(everything)
    await assert_totals_are_sums(store, everything)


async def test_a_late_step_of_a_pruned_user_finds_none_of_their_steps_left(
    pool: asyncpg.Pool, schema: str
) -> None:
    """The pruner takes a user's tally and steps together, so a tally is always what the
    user's stored steps add up to, even for a step arriving after part of the pruning."""
    await migrate(pool, schema, MIGRATIONS)
    store = TrackerStore(pool)
    handler = TraceHandler(pool, store)
    notification_id = uuid.uuid4()
    everything = [
        step
        for seed, user in enumerate(USERS[:2])
        for step in user_steps(notification_id, user, seed)
    ]
    await handler(received(everything))
    keys = [(APP, notification_id, user) for user in USERS[:2]]

    await store.prune(T0 + timedelta(days=30), 1)
    late = [
        NotificationTraced.step(
            "token_deactivated",
            app_id=APP,
            notification_id=notification_id,
            occurred_at=T0 + timedelta(days=31),
            user_id=user,
            device_id=uuid.uuid4(),
            platform="apns",
        )
        for user in USERS[:2]
    ]
    await handler(received(late))

    tallies = await stored_tallies(store, keys)
    async with pool.acquire() as conn:
        steps = await store.user_steps_of(conn, keys)
    assert {key: domain.tally(steps[key]) for key in keys} == tallies
    assert sorted(len(steps[key]) for key in keys) == [1, 8]
    assert await store.counts_of(APP, notification_id) == sum(tallies.values(), domain.Tally())


@pytest.mark.parametrize(
    "kept", ['{"stages": []}', '{"v": 2, "devices": {}}', '"not an object"'], ids=str
)
async def test_progress_of_an_unknown_version_is_rebuilt_from_the_steps(
    pool: asyncpg.Pool, schema: str, kept: str
) -> None:
    await migrate(pool, schema, MIGRATIONS)
    store = TrackerStore(pool)
    handler = TraceHandler(pool, store)
    notification_id = uuid.uuid4()
    everything = user_steps(notification_id, "alice", 1)
    await handler(received(everything[:3]))
    await pool.execute("UPDATE user_tallies SET progress = $1", kept)

    await handler(received(everything[3:]))

    await assert_totals_are_sums(store, everything)


async def test_the_progress_migration_gives_up_on_a_table_held_by_a_long_transaction(
    pool: asyncpg.Pool, schema: str, tmp_path: Path
) -> None:
    """Queued behind a long reader, the ALTER would stall every tracker write behind it."""
    await migrate_to_before_progress(pool, schema, tmp_path)
    async with pool.acquire() as reader, reader.transaction():
        await reader.execute("SELECT count(*) FROM user_tallies")
        with pytest.raises(asyncpg.LockNotAvailableError):
            await migrate(pool, schema, MIGRATIONS)
    assert await migrate(pool, schema, MIGRATIONS) == [5]
