"""The badge-sync consumer: each badge change is merged into the user's pending sync.

Merges are durable before the batch's offsets commit; the flush loop (``flusher``) sends them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import asyncpg

from contracts.badges import BadgeChanged
from services.registry.reads import domain
from services.registry.reads.store import SyncStore
from shared.clock import Clock
from shared.db import transaction
from shared.kafka import Received, Rejection


class BadgeChangeHandler:
    """Merges each badge change into the user's pending sync."""

    def __init__(
        self, pool: asyncpg.Pool, store: SyncStore, clock: Clock, window: timedelta
    ) -> None:
        self.pool = pool
        self.store = store
        self.clock = clock
        self.window = window

    async def __call__(self, batch: Sequence[Received[BadgeChanged]]) -> Sequence[Rejection]:
        now = self.clock.now()
        async with transaction(self.pool) as conn:
            for item in batch:
                change = item.message
                pending = await self.store.pending(conn, change.app_id, change.user_id)
                last = await self.store.last_sent_seq(conn, change.app_id, change.user_id)
                merged = domain.merge(
                    pending, change, last_sent_seq=last, now=now, window=self.window
                )
                if merged is not None and merged != pending:
                    await self.store.save_pending(conn, merged)
        return ()
