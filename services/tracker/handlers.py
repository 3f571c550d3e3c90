"""The tracker's handlers: record trace steps and reads, one transaction per batch.

Every write is idempotent (see the store), so a batch re-run after a crash changes nothing; the
glue commits the offsets after the transaction. Each user a batch touches gets its tally
recomputed from all of that user's stored steps, so the order steps arrive in does not matter,
and its notification's running total moves by the difference to the tally stored before.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from contracts.badges import BadgeChanged
from contracts.trace import NotificationTraced
from services.tracker import domain, metrics
from services.tracker.store import InboxKey, TrackerStore, UserKey
from shared.db import transaction
from shared.kafka import Received, Rejection


class TraceHandler:
    """Stores each step once, recomputes the tallies of the users they concern and files the
    notifications that reached a user in their inbox."""

    def __init__(self, pool: asyncpg.Pool, store: TrackerStore) -> None:
        self.pool = pool
        self.store = store

    async def __call__(self, batch: Sequence[Received[NotificationTraced]]) -> Sequence[Rejection]:
        steps = [item.message for item in batch]
        users = {(s.app_id, s.notification_id, s.user_id) for s in steps if s.user_id is not None}
        async with transaction(self.pool) as conn:
            await self.store.lock_notifications(
                conn, ((s.app_id, s.notification_id) for s in steps)
            )
            new = await self.store.record_steps(conn, steps)
            by_user = await self.store.user_steps_of(conn, users)
            before = await self.store.tallies_of(conn, users)
            tallies = {user: domain.tally(user_steps) for user, user_steps in by_user.items()}
            await self.store.save_tallies(conn, tallies)
            await self.store.add_to_totals(conn, domain.total_changes(tallies, before))
            await self.store.record_reaches(conn, domain.reaches(steps))
            await self.store.extend_notifications(conn, domain.last_active(steps))
        for step in steps:
            metrics.STEPS.labels(stage=step.stage).inc()
        metrics.REPEATED.inc(len(steps) - new)
        return ()


class ReadsHandler:
    """Remembers what each user read, by id and by watermark."""

    def __init__(self, pool: asyncpg.Pool, store: TrackerStore) -> None:
        self.pool = pool
        self.store = store

    async def __call__(self, batch: Sequence[Received[BadgeChanged]]) -> Sequence[Rejection]:
        reads: dict[InboxKey, datetime] = {}
        marks: dict[UserKey, tuple[datetime, datetime]] = {}
        for item in batch:
            change = item.message
            for notification_id in change.read_notification_ids:
                key = (change.app_id, change.user_id, notification_id)
                reads[key] = min(reads.get(key, change.occurred_at), change.occurred_at)
            mark = domain.read_mark(change.read_up_to, change.all_read, change.occurred_at)
            if mark is not None:
                user = (change.app_id, change.user_id)
                up_to, changed_at = marks.get(user, (mark, change.occurred_at))
                marks[user] = (max(up_to, mark), max(changed_at, change.occurred_at))
        async with transaction(self.pool) as conn:
            await self.store.record_reads(conn, reads)
            await self.store.raise_marks(conn, marks)
        return ()
