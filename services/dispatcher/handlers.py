"""Push-request handlers: first tries from the push topic, retries from the retry topic.

Each batch ends the same way: results go to push.results, pushes to try again go to the retry topic,
pushes that failed for good are also parked in the dead letters, and only then is the batch
committed. Each push is sent once per batch: when publishing the outcome fails, the publishing is
retried, never the sends. A retry waits for its not-before time here, in the retry consumer, never
in the first-try consumer, so a provider's Retry-After or an app's pause never holds up the pushes
queued behind it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime

from contracts import topics
from contracts.base import Model
from contracts.push import Platform, PushRequest
from contracts.topics import Topic
from services.dispatcher import domain, metrics
from services.dispatcher.delivery import Again, Deliverer, Step, step_all
from shared.clock import Clock
from shared.kafka import Publisher, Received, Rejection
from shared.kafka.persistent import Sleep, publish_until_done

log = logging.getLogger(__name__)


async def _finish(
    bus: Publisher,
    platform: Platform,
    items: Sequence[Received[PushRequest]],
    steps: Sequence[Step],
    sleep: Sleep,
) -> list[Rejection]:
    """Publish what the steps produced, with each notification push's step on the trace topic
    (a badge-sync push is no notification's), and return the dead letters for the consumer glue."""
    output: list[tuple[Topic, Model]] = []
    rejections: list[Rejection] = []
    for item, step in zip(items, steps, strict=True):
        traced = item.message.sync is None
        if isinstance(step, Again):
            output.append((topics.RETRY[platform], step.request))
            if traced:
                retry = domain.traced_retry(step.request, step.reason, step.decided_at)
                output.append((topics.TRACE, retry))
            continue
        output.append((topics.RESULTS, step.result))
        if traced:
            output.append((topics.TRACE, domain.traced_send(step.result)))
        if step.dead_letter is not None:
            rejections.append(Rejection(item, step.dead_letter))
    await publish_until_done(bus, output, sleep, what="pushes")
    metrics.count_steps(platform, steps)
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

    def __init__(
        self,
        bus: Publisher,
        deliverer: Deliverer,
        platform: Platform,
        *,
        sleep: Sleep | None = None,
    ) -> None:
        self.bus = bus
        self.deliverer = deliverer
        self.platform = platform
        self.sleep = sleep or asyncio.sleep

    async def __call__(self, batch: Sequence[Received[PushRequest]]) -> Sequence[Rejection]:
        ours, rejections = _split_foreign(batch, self.platform)
        steps = await step_all(self.deliverer, [item.message for item in ours])
        return rejections + await _finish(self.bus, self.platform, ours, steps, self.sleep)


class RetryHandler:
    """Retries: each push goes again once its time has come.

    A push due within ``hold`` seconds is waited for; one due later goes back to the retry topic
    unchanged, so a batch never holds its partition for longer than ``hold``. Pushes going back
    circulate at most ``requeue_rate`` a second while a backlog streams past (full batches of
    ``batch_size``), and once per ``hold`` at its tail, so pushes waiting long (an app's pause, a
    long Retry-After) neither spin the consumer nor stall the pushes queued behind them for long.
    """

    def __init__(
        self,
        bus: Publisher,
        deliverer: Deliverer,
        platform: Platform,
        clock: Clock,
        *,
        hold: float,
        batch_size: int,
        requeue_rate: float,
        sleep: Sleep | None = None,
    ) -> None:
        self.bus = bus
        self.deliverer = deliverer
        self.platform = platform
        self.clock = clock
        self.hold = hold
        self.batch_size = batch_size
        self.requeue_rate = requeue_rate
        self.sleep = sleep or asyncio.sleep

    async def __call__(self, batch: Sequence[Received[PushRequest]]) -> Sequence[Rejection]:
        ours, rejections = _split_foreign(batch, self.platform)
        start = self.clock.now()
        waits = [self._wait(item.message, start) for item in ours]
        near = sorted(
            (pair for pair in zip(waits, ours, strict=True) if pair[0] <= self.hold),
            key=lambda pair: pair[0],
        )
        later = [item for wait, item in zip(waits, ours, strict=True) if wait > self.hold]
        sending = [item for _, item in near]
        steps = await step_all(self.deliverer, [i.message for i in sending], before=self._due)
        if later:
            pace = self.hold if len(batch) < self.batch_size else len(later) / self.requeue_rate
            spent = (self.clock.now() - start).total_seconds()
            if spent < pace:
                await self.sleep(pace - spent)
            back: list[tuple[Topic, Model]] = [
                (topics.RETRY[self.platform], i.message) for i in later
            ]
            await publish_until_done(self.bus, back, self.sleep, what="pushes")
        return rejections + await _finish(self.bus, self.platform, sending, steps, self.sleep)

    def _wait(self, request: PushRequest, now: datetime) -> float:
        due = self.deliverer.due(request)
        return 0.0 if due is None else (due - now).total_seconds()

    async def _due(self, request: PushRequest) -> None:
        wait = self._wait(request, self.clock.now())
        if wait > 0:
            await self.sleep(wait)
