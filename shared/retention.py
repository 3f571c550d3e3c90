"""Retention for ledgers that grow with traffic (ingest's idempotency keys, badge-count's applied
reads, the registry's sync state): a background loop that forgets rows older than a retention,
a batch at a time, on the service's injected clock. Each service supplies the statement.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from shared.clock import Clock
from shared.errors import RETRYABLE

log = logging.getLogger(__name__)

#: Deletes up to ``limit`` (the second argument) rows older than the first; returns how many went.
Prune = Callable[[datetime, int], Awaitable[int]]
BATCH = 10_000
#: How often the loop looks unless told otherwise: a long retention is still enforced within this.
LONGEST_INTERVAL = timedelta(minutes=10)


class Pruner:
    """Forgets what ``prune`` deletes once it is older than ``retention``."""

    def __init__(
        self,
        what: str,
        prune: Prune,
        clock: Clock,
        retention: timedelta,
        batch: int = BATCH,
        interval: timedelta | None = None,
    ) -> None:
        self.what = what
        self.prune = prune
        self.clock = clock
        self.retention = retention
        self.batch = batch
        self.interval = interval or min(retention, LONGEST_INTERVAL)

    async def prune_once(self) -> int:
        """Forget every row older than the retention now; return how many went."""
        before = self.clock.now() - self.retention
        total = 0
        while True:
            gone = await self.prune(before, self.batch)
            total += gone
            if gone < self.batch:
                break
        if total:
            log.info("forgot %d %s older than %s", total, self.what, self.retention)
        return total

    async def run(self, stopping: asyncio.Event) -> None:
        """Prune every ``interval`` until ``stopping`` is set; database outages are waited out."""
        interval = self.interval.total_seconds()
        while not stopping.is_set():
            try:
                await self.prune_once()
            except RETRYABLE as error:
                log.warning("pruning %s failed (%s); trying again later", self.what, error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), interval)
