"""The webhooks' handlers: make deliveries from the trace, POST them, retry them.

``TraceHandler`` reads the trace in the group ``webhooks`` and publishes the deliveries its events
make on ``webhooks.deliveries``; it never waits on an endpoint. ``DeliveryHandler`` POSTs them:
first tries straight away, retries (from ``webhooks.retry``) once their time has come. Each
webhook's deliveries in a batch go one after another (stopping at its first failure), different
webhooks at once; what fails for a while goes to the retry topic, what is refused or still failing
at its deadline is parked on the topic's dead letters, and only then is the batch committed. A
batch is never POSTed twice: when publishing its outcome fails, the publishing is retried.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from contracts import topics
from contracts.base import Model
from contracts.topics import Topic
from contracts.trace import NotificationTraced
from contracts.webhooks import WebhookDelivery
from services.webhooks import domain, metrics
from services.webhooks.sender import RefusedAddress, Reply, SendFailed
from shared.clock import Clock
from shared.kafka import Publisher, Received, Rejection
from shared.kafka.persistent import Sleep, publish_until_done
from shared.tenancy.directory import AppDirectory, AppWebhook

log = logging.getLogger(__name__)

Jitter = Callable[[], float]


class Poster(Protocol):
    """Where POSTs go: a WebhookSender, over the network."""

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> Reply: ...


class Webhooks(Protocol):
    """Who the webhooks are: an AppDirectory, kept current from apps.changed."""

    def webhook(self, app_id: str, webhook_id: uuid.UUID) -> AppWebhook | None: ...


#: Creates topics that are not in the catalog (shared.kafka.admin.ensure_topics, bound).
PrepareTopics = Callable[[list[Topic]], Awaitable[object]]


class TraceHandler:
    """Turns trace events into deliveries for the webhooks that want them, and copies each
    app's outcomes to its own outcome stream (contracts.topics.outcomes_of), creating that
    topic before its first outcome."""

    def __init__(
        self,
        bus: Publisher,
        directory: AppDirectory,
        clock: Clock,
        prepare: PrepareTopics,
        *,
        max_events: int,
        max_bytes: int,
    ) -> None:
        self.bus = bus
        self.directory = directory
        self.clock = clock
        self.prepare = prepare
        self.max_events = max_events
        self.max_bytes = max_bytes
        self._streams: set[str] = set()

    async def __call__(self, batch: Sequence[Received[NotificationTraced]]) -> Sequence[Rejection]:
        made = domain.deliveries(
            (item.message for item in batch),
            self.directory.webhooks,
            now=self.clock.now(),
            max_events=self.max_events,
            max_bytes=self.max_bytes,
        )
        streamed = domain.outcomes((item.message for item in batch), self.directory.known)
        new_streams = sorted({event.app_id for event in streamed} - self._streams)
        if new_streams:
            await self.prepare([topics.outcomes_of(app_id) for app_id in new_streams])
            self._streams.update(new_streams)
        output: list[tuple[Topic, Model]] = [
            (topics.WEBHOOK_DELIVERIES, delivery) for delivery in made
        ]
        output += [(topics.outcomes_of(event.app_id), event) for event in streamed]
        if output:
            await self.bus.publish_all(output)
        for delivery in made:
            metrics.EVENTS.labels(app=delivery.app_id).inc(len(delivery.events))
        return ()


@dataclass(frozen=True)
class _Outcome:
    """What became of one delivery: sent again later (``again``), parked (``parked``), or
    neither (delivered or dropped)."""

    item: Received[WebhookDelivery]
    again: WebhookDelivery | None = None
    parked: str | None = None


class DeliveryHandler:
    """POSTs deliveries; with ``hold`` set (the retry topic) each waits for its time first.

    A delivery due within ``hold`` seconds is waited for; one due later goes back to the retry
    topic unchanged, at most ``requeue_rate`` a second while a backlog streams past and once per
    ``hold`` at its tail, so waiting deliveries neither spin the consumer nor stall the ones
    behind them for long.

    Each webhook's deliveries in a batch are sent one after another, for at most
    ``lane_seconds``; what its endpoint had no time for goes to the retry topic unattempted. A
    slow endpoint that still answers 2xx (no backoff) then holds a batch, and every other app's
    webhooks behind it, for about that long and one request's timeout, not for its whole backlog.
    """

    def __init__(
        self,
        bus: Publisher,
        directory: Webhooks,
        sender: Poster,
        backoff: domain.EndpointBackoff,
        clock: Clock,
        *,
        hold: float | None = None,
        lane_seconds: float = 10.0,
        batch_size: int = 500,
        requeue_rate: float = 500.0,
        sleep: Sleep | None = None,
        jitter: Jitter = random.random,
    ) -> None:
        self.bus = bus
        self.directory = directory
        self.sender = sender
        self.backoff = backoff
        self.clock = clock
        self.hold = hold
        self.lane_seconds = lane_seconds
        self.batch_size = batch_size
        self.requeue_rate = requeue_rate
        self.sleep = sleep or asyncio.sleep
        self.jitter = jitter

    async def __call__(self, batch: Sequence[Received[WebhookDelivery]]) -> Sequence[Rejection]:
        start = self.clock.now()
        sending, later = list(batch), []
        if self.hold is not None:
            waits = [self._wait(item.message, start) for item in batch]
            sending = [item for wait, item in zip(waits, batch, strict=True) if wait <= self.hold]
            later = [item for wait, item in zip(waits, batch, strict=True) if wait > self.hold]
            longest = max((wait for wait in waits if wait <= self.hold), default=0.0)
            if longest > 0:
                await self.sleep(longest)
        lanes: dict[tuple[str, uuid.UUID], list[Received[WebhookDelivery]]] = {}
        for item in sending:
            lanes.setdefault((item.message.app_id, item.message.webhook_id), []).append(item)
        outcomes = await asyncio.gather(*(self._lane(lane) for lane in lanes.values()))
        output: list[tuple[Topic, Model]] = []
        rejections: list[Rejection] = []
        for outcome in (o for lane in outcomes for o in lane):
            if outcome.again is not None:
                output.append((topics.WEBHOOK_RETRY, outcome.again))
            if outcome.parked is not None:
                rejections.append(Rejection(outcome.item, outcome.parked))
        if later:
            await self._pace(len(batch), len(later), start)
            output.extend((topics.WEBHOOK_RETRY, item.message) for item in later)
        if output:
            await publish_until_done(self.bus, output, self.sleep, what="webhook requests")
        return rejections

    async def _pace(self, fetched: int, later: int, start: datetime) -> None:
        """Hold back deliveries going round again: a hold at the tail of the topic, else the
        requeue rate."""
        hold = self.hold or 0.0
        pace = hold if fetched < self.batch_size else later / self.requeue_rate
        spent = (self.clock.now() - start).total_seconds()
        if spent < pace:
            await self.sleep(pace - spent)

    @staticmethod
    def _wait(delivery: WebhookDelivery, now: datetime) -> float:
        due = delivery.not_before
        return 0.0 if due is None else (due - now).total_seconds()

    async def _lane(self, lane: list[Received[WebhookDelivery]]) -> list[_Outcome]:
        """One webhook's deliveries in order, for at most ``lane_seconds``; after a failure the
        rest wait for the same time."""
        outcomes = []
        started = self.clock.now()
        for index, item in enumerate(lane):
            now = self.clock.now()
            if (now - started).total_seconds() >= self.lane_seconds:
                reason = "waiting: its endpoint used this batch's share of time"
                outcomes += [
                    self._again(rest, now, now, reason, attempted=False) for rest in lane[index:]
                ]
                break
            outcomes.append(await self._deliver(item))
        return outcomes

    async def _deliver(self, item: Received[WebhookDelivery]) -> _Outcome:
        delivery = item.message
        hook = self.directory.webhook(delivery.app_id, delivery.webhook_id)
        if hook is None:
            metrics.count(delivery.app_id, "dropped")
            return _Outcome(item)
        now = self.clock.now()
        blocked = self.backoff.blocked_until(hook.webhook_id, now)
        if blocked is not None:
            reason = delivery.last_reason or "waiting: the endpoint failed just before"
            return self._again(item, now, blocked, reason, attempted=False)
        verdict = await self._post(hook, delivery, now)
        now = self.clock.now()
        if isinstance(verdict, domain.Delivered):
            self.backoff.succeeded(hook.webhook_id)
            metrics.count(delivery.app_id, "delivered")
            return _Outcome(item)
        if isinstance(verdict, domain.Refused):
            log.warning(
                "webhook %s refused delivery %s: %s",
                hook.webhook_id,
                delivery.event_id,
                verdict.reason,
            )
            metrics.count(delivery.app_id, "parked")
            return _Outcome(item, parked=f"refused: {verdict.reason}")
        until = self.backoff.failed(
            hook.webhook_id, now, jitter=self.jitter(), wait_at_least=verdict.wait_at_least
        )
        return self._again(item, now, until, verdict.reason, attempted=True)

    def _again(
        self,
        item: Received[WebhookDelivery],
        now: datetime,
        not_before: datetime,
        reason: str,
        *,
        attempted: bool,
    ) -> _Outcome:
        delivery = item.message
        again = domain.rescheduled(
            delivery,
            now=now,
            not_before=not_before,
            reason=reason,
            attempted=attempted,
            policy=self.backoff.policy,
        )
        if again is None:
            attempts = delivery.attempt + (1 if attempted else 0)
            metrics.count(delivery.app_id, "parked")
            return _Outcome(
                item, parked=f"still failing at its deadline after {attempts} attempts: {reason}"
            )
        metrics.count(delivery.app_id, "retry_scheduled")
        return _Outcome(item, again=again)

    async def _post(
        self, hook: AppWebhook, delivery: WebhookDelivery, now: datetime
    ) -> domain.Verdict:
        payload = domain.body(delivery)
        headers = {
            "content-type": "application/json",
            "user-agent": "Herald-Webhooks/1",
            domain.DELIVERY_HEADER: str(delivery.event_id),
            domain.SIGNATURE_HEADER: domain.signature(hook.secret, int(now.timestamp()), payload),
        }
        started = time.monotonic()
        try:
            reply = await self.sender.post(hook.url, headers, payload)
        except RefusedAddress as error:
            return domain.Refused(str(error))
        except SendFailed as error:
            return domain.RetryLater(str(error))
        finally:
            metrics.REQUEST_SECONDS.observe(time.monotonic() - started)
        return domain.classify(reply.status, reply.retry_after, reply.text, self.clock.now())
