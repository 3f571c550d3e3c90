"""Badge-count forgets applied read reports and settled reads after their retention, on its
injected clock, and keeps what a badge still depends on: unread notifications, and reads of
notifications that may still arrive.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import pytest

from services.badge_count.app import ledger_pruner
from services.badge_count.store import BadgeStore, DeliveryRow
from shared.db import transaction
from tests.support.clock import FrozenClock
from tests.support.factories import unique

pytestmark = pytest.mark.integration

RETENTION = timedelta(days=30)


async def test_applied_reports_and_settled_reads_go_after_the_retention(
    badge_pool: asyncpg.Pool,
) -> None:
    clock = FrozenClock()
    store = BadgeStore(badge_pool)
    app, user = "retention", unique("user")
    old_report, new_report = uuid.uuid4(), uuid.uuid4()
    read, unread, early_read = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def delivery(notification_id: uuid.UUID) -> DeliveryRow:
        now = clock.now()
        return DeliveryRow(app, user, notification_id, True, 1, 1, False, now, now)

    async with transaction(badge_pool) as conn:
        await store.claim_report(conn, old_report, app, user, clock.now())
        await store.record_deliveries(conn, [delivery(read), delivery(unread)], clock.now())
        await store.read_by_ids(conn, app, user, [read, early_read], clock.now())
    clock.advance(days=25)
    async with transaction(badge_pool) as conn:
        await store.claim_report(conn, new_report, app, user, clock.now())
    clock.advance(days=6)

    await ledger_pruner(store, clock, RETENTION).prune_once()

    async with transaction(badge_pool) as conn:
        first_time_old, _ = await store.claim_report(conn, old_report, app, user, clock.now())
        first_time_new, _ = await store.claim_report(conn, new_report, app, user, clock.now())
        counted = await store.counted_of(conn, [(app, user, read), (app, user, unread)])
        reads = await store.read_by_id_of(conn, [(app, user, read), (app, user, early_read)])

    assert (first_time_old, first_time_new) == (True, False)
    assert set(counted) == {(app, user, unread)}
    assert reads == {(app, user, early_read)}


async def test_a_read_of_a_notification_that_never_came_goes_after_the_longest_schedule(
    badge_pool: asyncpg.Pool,
) -> None:
    clock = FrozenClock()
    store = BadgeStore(badge_pool)
    app, user, never = "retention", unique("user"), uuid.uuid4()
    async with transaction(badge_pool) as conn:
        await store.read_by_ids(conn, app, user, [never], clock.now())

    clock.advance(days=365)
    await ledger_pruner(store, clock, RETENTION).prune_once()
    async with transaction(badge_pool) as conn:
        kept = await store.read_by_id_of(conn, [(app, user, never)])
    clock.advance(days=60)
    await ledger_pruner(store, clock, RETENTION).prune_once()
    async with transaction(badge_pool) as conn:
        gone = await store.read_by_id_of(conn, [(app, user, never)])

    assert kept == {(app, user, never)}
    assert gone == set()
