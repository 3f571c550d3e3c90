"""Scheduler message handlers: decode is done by the glue, rules live in domain."""

from __future__ import annotations

from collections.abc import Sequence

from contracts import topics
from contracts.notifications import UserNotification
from services.scheduler import domain
from shared.clock import Clock
from shared.kafka import Bus, Received, Rejection


class UserNotificationHandler:
    """Releases per-user notifications that are due now."""

    def __init__(self, bus: Bus, clock: Clock) -> None:
        self.bus = bus
        self.clock = clock

    async def __call__(self, batch: Sequence[Received[UserNotification]]) -> Sequence[Rejection]:
        now = self.clock.now()
        await self.bus.publish_all(
            (topics.DUE, domain.release(item.message, now)) for item in batch
        )
        return ()
