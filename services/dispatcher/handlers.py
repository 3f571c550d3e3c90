"""Push-request handlers: first tries from the push topic, retries from the retry topic.

Each batch ends the same way: results go to push.results, pushes to try again go to the retry topic,
pushes that failed for good are also parked in the dead letters, and only then is the batch
committed. A retry waits for its not-before time here, in the retry consumer, never in the first-try
consumer, so a provider's Retry-After never holds up the pushes queued behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from contracts import topics
from contracts.base import Model
from contracts.push import Platform, PushRequest
from contracts.topics import Topic
from services.dispatcher.delivery import Again, Deliverer, Step, step_all
from shared.clock import Clock
from shared.kafka import Publisher, Received, Rejection

Sleep = Callable[[float], Awaitable[None]]


async def _finish(
    bus: Publisher,
    platform: Platform,
    items: Sequence[Received[PushRequest]],
    steps: Sequence[Step],
) -> list[Rejection]:
    """Publish what the steps produced and return the dead letters for the consumer glue."""
    output: list[tuple[Topic, Model]] = []
    rejections: list[Rejection] = []
    for item, step in zip(items, steps, strict=True):
        if isinstance(step, Again):
            output.append((topics.RETRY[platform], step.request))
            continue
        output.append((topics.RESULTS, step.result))
        if step.dead_letter is not None:
            rejections.append(Rejection(item, step.dead_letter))
    await bus.publish_all(output)
    return rejections


def _split_foreign(
    batch: Sequence[Received[PushRequest]], platform: Platform
) -> tuple[list[Received[PushRequest]], list[Rejection]]:
    ours = [item for item in batch if item.message.platform == platform]
    foreign = [
        Rejection(item, f"a {item.message.platform} push request on the {platform} topic")
        for item in batch
        if item.message.platform != platform
    ]
    return ours, foreign


class PushRequestHandler:
    """First tries: every request of a batch once (plus one re-authentication)."""

    def __init__(self, bus: Publisher, deliverer: Deliverer, platform: Platform) -> None:
        self.bus = bus
        self.deliverer = deliverer
        self.platform = platform

    async def __call__(self, batch: Sequence[Received[PushRequest]]) -> Sequence[Rejection]:
        ours, rejections = _split_foreign(batch, self.platform)
        steps = await step_all(self.deliverer, [item.message for item in ours])
        return rejections + await _finish(self.bus, self.platform, ours, steps)


class RetryHandler:
    """Retries: each push goes again once its not-before time has come.

    A push due within ``hold`` seconds is waited for; one due later goes back to the retry topic
    unchanged after ``hold`` seconds, so a batch never holds its partition for longer than that.
    """

    def __init__(
        self,
        bus: Publisher,
        deliverer: Deliverer,
        platform: Platform,
        clock: Clock,
        *,
        hold: float,
        sleep: Sleep | None = None,
    ) -> None:
        self.bus = bus
        self.deliverer = deliverer
        self.platform = platform
        self.clock = clock
        self.hold = hold
        self.sleep = sleep or asyncio.sleep

    async def __call__(self, batch: Sequence[Received[PushRequest]]) -> Sequence[Rejection]:
        ours, rejections = _split_foreign(batch, self.platform)
        start = self.clock.now()
        near = [item for item in ours if self._wait(item.message, start) <= self.hold]
        later = [item for item in ours if self._wait(item.message, start) > self.hold]
        near.sort(key=lambda item: self._wait(item.message, start))
        steps = await step_all(self.deliverer, [item.message for item in near], before=self._due)
        if later:
            spent = (self.clock.now() - start).total_seconds()
            if spent < self.hold:
                await self.sleep(self.hold - spent)
            await self.bus.publish_all((topics.RETRY[self.platform], i.message) for i in later)
        return rejections + await _finish(self.bus, self.platform, near, steps)

    @staticmethod
    def _wait(request: PushRequest, now: datetime) -> float:
        if request.not_before is None:
            return 0.0
        return (request.not_before - now).total_seconds()

    async def _due(self, request: PushRequest) -> None:
        wait = self._wait(request, self.clock.now())
        if wait > 0:
            await self.sleep(wait)
