"""Badge-count's handler: count each due notification once, then pass it on with its badge."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from contracts import topics
from contracts.base import derived_id
from contracts.notifications import NotificationCounted, NotificationDue
from services.badge_count.domain import counts_toward_badge
from services.badge_count.store import BadgeStore
from shared.clock import Clock
from shared.kafka import Bus, Received, Rejection


class DueHandler:
    """Counts a batch in one transaction, then publishes the counted events."""

    def __init__(self, pool: asyncpg.Pool, store: BadgeStore, bus: Bus, clock: Clock) -> None:
        self.pool = pool
        self.store = store
        self.bus = bus
        self.clock = clock

    async def __call__(self, batch: Sequence[Received[NotificationDue]]) -> Sequence[Rejection]:
        now = self.clock.now()
        counted: list[NotificationCounted] = []
        async with self.pool.acquire() as conn, conn.transaction():
            for item in batch:
                due = item.message
                badge = await self.store.count(
                    conn,
                    app_id=due.app_id,
                    user_id=due.user_id,
                    notification_id=due.notification_id,
                    counts=counts_toward_badge(due.content),
                    accepted_at=due.accepted_at,
                    now=now,
                )
                counted.append(
                    NotificationCounted(
                        event_id=derived_id(due.event_id, "counted"),
                        app_id=due.app_id,
                        occurred_at=now,
                        notification_id=due.notification_id,
                        user_id=due.user_id,
                        content=due.content,
                        options=due.options,
                        accepted_at=due.accepted_at,
                        due_at=due.due_at,
                        badge=badge.badge,
                        badge_seq=badge.seq,
                    )
                )
        await self.bus.publish_all((topics.COUNTED, event) for event in counted)
        return ()
