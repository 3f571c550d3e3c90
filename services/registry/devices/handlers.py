"""Device consumers: counted notifications become per-device pushes; results update devices.

Each handler works on a whole batch with one query, decides through domain, and returns only once
its effects are durable, so the glue can commit the batch's offsets.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

from contracts import topics
from contracts.notifications import NotificationCounted
from contracts.push import PushResult
from services.registry import metrics
from services.registry.devices import domain
from services.registry.devices.store import DeviceStore
from shared.clock import Clock
from shared.kafka import Bus, Received, Rejection
from shared.logs import token_ref

log = logging.getLogger(__name__)


class FanOutHandler:
    """Publishes one push request per active device of each counted notification's user."""

    def __init__(self, store: DeviceStore, bus: Bus, clock: Clock) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock

    async def __call__(self, batch: Sequence[Received[NotificationCounted]]) -> Sequence[Rejection]:
        users = {(item.message.app_id, item.message.user_id) for item in batch}
        devices_of: dict[tuple[str, str], list[domain.Device]] = defaultdict(list)
        for device in await self.store.active_devices_of(users):
            devices_of[(device.app_id, device.user_id)].append(device)
        now = self.clock.now()
        requests = []
        for item in batch:
            counted = item.message
            found = domain.fan_out(counted, devices_of[(counted.app_id, counted.user_id)], now)
            if not found:
                log.debug(
                    "no active device for user %s of app %s; notification %s not pushed",
                    counted.user_id,
                    counted.app_id,
                    counted.notification_id,
                )
            requests.extend(found)
        await self.bus.publish_all((topics.PUSH[request.platform], request) for request in requests)
        metrics.fanned_out((request.platform for request in requests), "notification")
        return ()


class ResultsHandler:
    """Deactivates devices whose token a provider called invalid and records successes."""

    def __init__(self, store: DeviceStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def __call__(self, batch: Sequence[Received[PushResult]]) -> Sequence[Rejection]:
        results = [item.message for item in batch]
        now = self.clock.now()
        changed = await self.store.change_devices(
            {result.device_id for result in results},
            lambda devices: domain.apply_results(devices, results, now),
        )
        for before, device in changed:
            if before.active and not device.active:
                metrics.TOKEN_DEACTIVATIONS.labels(platform=device.platform).inc()
                log.info(
                    "device %s (%s) of app %s deactivated: %s",
                    device.device_id,
                    token_ref(device.token),
                    device.app_id,
                    device.deactivation_reason,
                )
        return ()
