"""Badge sync: badge changes wait briefly in the database, then go out as one quiet push per device.

The consumer only merges changes into ``pending_syncs`` (durable before its offset commits); a
flush loop sends what is due. Replicas flush side by side: rows are claimed with SKIP LOCKED.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

import asyncpg

from contracts import topics
from contracts.badges import BadgeChanged
from contracts.push import PushRequest
from services.registry import sync_rules
from services.registry.domain import Device
from services.registry.store import DeviceStore
from services.registry.sync_store import SyncStore
from shared.clock import Clock
from shared.db import transaction
from shared.errors import RETRYABLE
from shared.kafka import Publisher, Received, Rejection

log = logging.getLogger(__name__)


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
                merged = sync_rules.merge(
                    pending, change, last_sent_seq=last, now=now, window=self.window
                )
                if merged is not None and merged != pending:
                    await self.store.save_pending(conn, merged)
        return ()


class SyncFlusher:
    """Sends due syncs: a badge push per device, plus an APNs wake push while budget lasts."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        store: SyncStore,
        devices: DeviceStore,
        bus: Publisher,
        clock: Clock,
        *,
        interval: timedelta,
        wakes_per_hour: int,
        batch: int = 500,
    ) -> None:
        self.pool = pool
        self.store = store
        self.devices = devices
        self.bus = bus
        self.clock = clock
        self.interval = interval
        self.wakes_per_hour = wakes_per_hour
        self.batch = batch

    async def run(self, stopping: asyncio.Event) -> None:
        """Flush until ``stopping`` is set; dependency outages are waited out, not fatal."""
        while not stopping.is_set():
            try:
                flushed = await self.flush_due()
            except RETRYABLE as error:
                log.warning("badge sync flush failed (%s); retrying", error)
                flushed = 0
            if flushed < self.batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), self.interval.total_seconds())

    async def flush_due(self) -> int:
        """Send every sync due now; return how many users' syncs went out."""
        now = self.clock.now()
        async with transaction(self.pool) as conn:
            due = await self.store.take_due(conn, now, self.batch)
            if not due:
                return 0
            found = await self.devices.active_devices_of({(p.app_id, p.user_id) for p in due})
            devices_of: dict[tuple[str, str], list[Device]] = defaultdict(list)
            for device in found:
                devices_of[(device.app_id, device.user_id)].append(device)
            apns = [d.device_id for d in found if d.platform == "apns"]
            budgets = await self.store.wake_budgets(conn, apns)
            spent: dict[uuid.UUID, sync_rules.WakeBudget] = {}
            requests: list[PushRequest] = []
            for pending in due:
                clears = bool(pending.read_ids or pending.read_up_to or pending.all_read)
                for device in sync_rules.sync_recipients(
                    pending, devices_of[(pending.app_id, pending.user_id)]
                ):
                    requests.append(sync_rules.sync_request(pending, device, now, wake_app=False))
                    if device.platform != "apns" or not clears:
                        continue
                    budget = sync_rules.spend_wake(
                        budgets.get(device.device_id), now, per_hour=self.wakes_per_hour
                    )
                    if budget is not None:
                        budgets[device.device_id] = spent[device.device_id] = budget
                        requests.append(
                            sync_rules.sync_request(pending, device, now, wake_app=True)
                        )
            await self.bus.publish_all((topics.PUSH[r.platform], r) for r in requests)
            await self.store.save_wake_budgets(conn, spent)
            await self.store.mark_sent(conn, due)
        log.debug("flushed %d badge syncs as %d pushes", len(due), len(requests))
        return len(due)
