"""The badge-sync flush loop: merged badge changes (``pending_syncs``, filled by the consumer in
``handlers``) go out, once due, as one quiet push per device. Replicas flush side by side: rows are
claimed with SKIP LOCKED.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

import asyncpg

from contracts import topics
from contracts.push import PushRequest
from services.registry import metrics
from services.registry.devices.domain import Device
from services.registry.devices.store import DeviceStore
from services.registry.reads import domain
from services.registry.reads.store import SyncStore
from shared.clock import Clock
from shared.db import transaction
from shared.errors import RETRYABLE
from shared.kafka import Publisher
from shared.retention import Pruner

log = logging.getLogger(__name__)


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
            spent: dict[uuid.UUID, domain.WakeBudget] = {}
            requests: list[PushRequest] = []
            for pending in due:
                clears = bool(pending.read_ids or pending.read_up_to or pending.all_read)
                for device in domain.sync_recipients(
                    pending, devices_of[(pending.app_id, pending.user_id)]
                ):
                    requests.append(domain.sync_request(pending, device, now, wake_app=False))
                    if device.platform != "apns" or not clears:
                        continue
                    budget = domain.spend_wake(
                        budgets.get(device.device_id), now, per_hour=self.wakes_per_hour
                    )
                    if budget is not None:
                        budgets[device.device_id] = spent[device.device_id] = budget
                        requests.append(domain.sync_request(pending, device, now, wake_app=True))
            await self.bus.publish_all((topics.PUSH[r.platform], r) for r in requests)
            await self.store.save_wake_budgets(conn, spent)
            await self.store.mark_sent(conn, due, now)
        metrics.fanned_out((request.platform for request in requests), "sync")
        log.debug("flushed %d badge syncs as %d pushes", len(due), len(requests))
        return len(due)


def sync_state_pruner(
    pool: asyncpg.Pool, store: SyncStore, clock: Clock, retention: timedelta
) -> Pruner:
    """The loop that forgets users' last sync and wake budgets untouched for ``retention``."""

    async def prune(before: datetime, limit: int) -> int:
        async with transaction(pool) as conn:
            return await store.prune(conn, before, limit)

    return Pruner("badge sync records", prune, clock, retention)
