"""The push-request handler: deliver a batch, publish one result per request, then commit.

Decoding is done by the consumer glue; retries and outcomes by the delivery loop. A request for
another platform on this platform's topic is parked, since no retry can make it right.
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts import topics
from contracts.push import Platform, PushRequest
from services.dispatcher.delivery import Deliverer, deliver_all
from shared.kafka import Bus, Received, Rejection


class PushRequestHandler:
    """Sends every request of a batch, at most ``max_in_flight`` at once."""

    def __init__(
        self, bus: Bus, deliverer: Deliverer, platform: Platform, max_in_flight: int
    ) -> None:
        self.bus = bus
        self.deliverer = deliverer
        self.platform = platform
        self.max_in_flight = max_in_flight

    async def __call__(self, batch: Sequence[Received[PushRequest]]) -> Sequence[Rejection]:
        ours = [item.message for item in batch if item.message.platform == self.platform]
        rejections = [
            Rejection(
                item,
                f"a {item.message.platform} push request on the {self.platform} topic",
            )
            for item in batch
            if item.message.platform != self.platform
        ]
        results = await deliver_all(self.deliverer, ours, self.max_in_flight)
        await self.bus.publish_all((topics.RESULTS, result) for result in results)
        return rejections
