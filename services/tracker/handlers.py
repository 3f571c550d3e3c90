"""The tracker's handlers: record trace steps and reads, one idempotent transaction per batch;
only the steps a batch stores for the first time move the tallies of the users they concern (and
their notifications' running totals)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime

import asyncpg

from contracts.badges import BadgeChanged
from contracts.trace import NotificationTraced
from services.tracker import domain, metrics
from services.tracker.domain import UserTallyKey
from services.tracker.store import InboxKey, TrackerStore, UserKey
from shared.db import Connection, transaction
from shared.kafka import Received, Rejection


class TraceHandler:
    """Stores each step once, folds the new ones into the tallies of the users they concern and
    files the notifications that reached a user in their inbox."""

    def __init__(self, pool: asyncpg.Pool, store: TrackerStore) -> None:
        self.pool = pool
        self.store = store

    async def __call__(self, batch: Sequence[Received[NotificationTraced]]) -> Sequence[Rejection]:
        steps = [item.message for item in batch]
        first_copies: dict[uuid.UUID, NotificationTraced] = {}
        for step in steps:
            first_copies.setdefault(step.event_id, step)
        firsts = list(first_copies.values())
        async with transaction(self.pool) as conn:
            await self.store.lock_notifications(
                conn, ((s.app_id, s.notification_id) for s in firsts)
            )
            stored_now = await self.store.record_steps(conn, firsts)
            new = [step for step in firsts if step.event_id in stored_now]
            new_of_users: dict[UserTallyKey, list[NotificationTraced]] = defaultdict(list)
            for step in new:
                if step.user_id is not None:
                    new_of_users[(step.app_id, step.notification_id, step.user_id)].append(step)
            stored = await self.store.progress_of(conn, new_of_users)
            progress = await self._progress(conn, new_of_users, stored)
            tallies = {user: user_progress.tally() for user, user_progress in progress.items()}
            await self.store.save_tallies(conn, tallies, progress)
            before = {user: tally for user, (tally, _) in stored.items()}
            await self.store.add_to_totals(conn, domain.total_changes(tallies, before))
            await self.store.record_reaches(conn, domain.reaches(new))
            await self.store.extend_notifications(conn, domain.last_active(new))
        for step in steps:
            metrics.STEPS.labels(stage=step.stage).inc()
        metrics.REPEATED.inc(len(steps) - len(new))
        return ()

    async def _progress(
        self,
        conn: Connection,
        new_of_users: Mapping[UserTallyKey, list[NotificationTraced]],
        stored: Mapping[UserTallyKey, tuple[domain.Tally, domain.Progress | None]],
    ) -> dict[UserTallyKey, domain.Progress]:
        """Each user's progress with their new steps folded in. Where the stored progress is
        unknown (see progress_of), it is rebuilt from all the user's stored steps (new ones too)."""
        unknown = [user for user, (_, kept) in stored.items() if kept is None]
        all_steps = await self.store.user_steps_of(conn, unknown) if unknown else {}
        progress: dict[UserTallyKey, domain.Progress] = {}
        for user, new_steps in new_of_users.items():
            kept = stored[user][1] if user in stored else domain.Progress()
            if kept is None:
                kept, new_steps = domain.Progress(), all_steps[user]
            for step in new_steps:
                kept.add(step)
            progress[user] = kept
        return progress


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
