"""Token hygiene: devices that have not registered for a while stop receiving (FCM calls a token
stale after a month without its app checking in), and inactive devices are deleted later still.
Both run on the retention loop, a bounded batch at a time, on the registry's clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.registry.devices.domain import STALE
from services.registry.devices.store import DeviceStore
from shared.clock import Clock
from shared.retention import Pruner


def token_hygiene(
    store: DeviceStore,
    clock: Clock,
    *,
    stale_after: timedelta,
    delete_after: timedelta,
    interval: timedelta,
) -> list[Pruner]:
    """The two loops: deactivate devices unseen for ``stale_after`` (see ``domain.is_stale``),
    delete devices inactive for ``delete_after`` (``domain.is_forgotten``); each every
    ``interval``."""

    async def deactivate(seen_before: datetime, limit: int) -> int:
        return await store.deactivate_stale(seen_before, limit, STALE, clock.now())

    return [
        Pruner("stale devices", deactivate, clock, stale_after, interval=interval),
        Pruner("inactive devices", store.delete_inactive, clock, delete_after, interval=interval),
    ]
