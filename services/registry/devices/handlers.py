"""Device consumers: counted notifications become per-device pushes; results update devices.

Each handler works on a whole batch with one query, decides through domain, and returns only once
its effects are durable, so the glue can commit the batch's offsets.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

from contracts import topics
from contracts.notifications import NotificationCounted, NotificationWithheld
from contracts.push import PushResult
from contracts.trace import NotificationTraced
from services.registry import metrics
from services.registry.devices import domain
from services.registry.devices.store import DeviceStore
from services.registry.preferences.domain import (
    FanOutChoices,
    channel_withheld,
    refused_platforms,
)
from services.registry.preferences.store import PreferenceStore
from shared.clock import Clock
from shared.kafka import Bus, Publisher, Received, Rejection
from shared.logs import token_ref

log = logging.getLogger(__name__)


class FanOutHandler:
    """Publishes one push request per active device of each counted notification's user (those
    the notification names, when it names some), leaving out platforms the user turned off (and
    reporting that) unless the push is transactional."""

    def __init__(
        self, store: DeviceStore, preferences: PreferenceStore, bus: Bus, clock: Clock
    ) -> None:
        self.store = store
        self.preferences = preferences
        self.bus = bus
        self.clock = clock

    async def __call__(self, batch: Sequence[Received[NotificationCounted]]) -> Sequence[Rejection]:
        users = {(item.message.app_id, item.message.user_id) for item in batch}
        devices_of: dict[tuple[str, str], list[domain.Device]] = defaultdict(list)
        for device in await self.store.active_devices_of(users):
            devices_of[(device.app_id, device.user_id)].append(device)
        choices_of = await self.preferences.fan_out_choices_of(users)
        now = self.clock.now()
        requests = []
        withheld: list[NotificationWithheld] = []
        traced: list[NotificationTraced] = []
        for item in batch:
            counted = item.message
            user = (counted.app_id, counted.user_id)
            choices = choices_of.get(user, FanOutChoices())
            refused = refused_platforms(choices.channels, counted.transactional)
            targeted = domain.recipients(counted, devices_of[user])
            devices = [d for d in targeted if d.platform not in refused]
            left_out = [d for d in targeted if d.platform in refused]
            if left_out:
                withheld.append(channel_withheld(counted, {d.platform for d in left_out}, now))
            locale = domain.user_locale(choices.locale, devices_of[user])
            found = domain.fan_out(counted, devices, now, user_locale=locale)
            traced.extend(domain.traced_fan_out(counted, found, left_out, now))
            requests.extend(found)
        await self.bus.publish_all(
            [(topics.PUSH[request.platform], request) for request in requests]
            + [(topics.WITHHELD, event) for event in withheld]
            + [(topics.TRACE, event) for event in traced]
        )
        metrics.fanned_out((request.platform for request in requests), "notification")
        return ()


class ResultsHandler:
    """Deactivates devices whose token a provider called invalid and records successes.

    Each deactivation's trace step is published before the change commits: a batch that fails
    after publishing deactivates again and reports the same steps (same ids) again.
    """

    def __init__(self, store: DeviceStore, bus: Publisher, clock: Clock) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock

    async def __call__(self, batch: Sequence[Received[PushResult]]) -> Sequence[Rejection]:
        results = [item.message for item in batch]
        now = self.clock.now()

        async def report(changed: Sequence[tuple[domain.Device, domain.Device]]) -> None:
            steps = domain.traced_deactivations(changed, results, now)
            await self.bus.publish_all((topics.TRACE, step) for step in steps)

        changed = await self.store.change_devices(
            {result.device_id for result in results},
            lambda devices: domain.apply_results(devices, results, now),
            before_commit=report,
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
