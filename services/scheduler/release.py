"""The release loop: every held copy is settled (sent on, or reported expired or withheld) when its
time comes.

Replicas share the work through row locks. One transaction claims due copies with FOR UPDATE SKIP
LOCKED, publishes their events (each with its trace step), waits for the broker's acknowledgement
and marks them settled; a replica that dies at any line never commits, so PostgreSQL frees its
copies and another replica publishes them again under the same event ids, which downstream
consumers dedupe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from opentelemetry.trace import SpanKind

from contracts import topics
from contracts.base import Model
from contracts.categories import MAX_CAP_WINDOW_SECONDS
from contracts.notifications import NotificationDue, NotificationWithheld
from contracts.schedule import NotificationExpired
from contracts.topics import Topic
from services.scheduler import frequency_store, metrics, outcomes, traces
from services.scheduler.gate import withheld_reasons
from services.scheduler.store import Claimed, SchedulerStore, State
from shared.clock import Clock
from shared.db import Connection, transaction
from shared.errors import RETRYABLE
from shared.kafka import Publisher
from shared.kafka.consumer import backoff_delay
from shared.kafka.tracing import Traced, TracedBatch, message_attributes, traced_batch
from shared.telemetry import context_from, tracing_enabled

log = logging.getLogger(__name__)

#: How soon to look again when copies are due but other replicas hold every one of them.
BUSY_RETRY_SECONDS = 0.05
PRUNE_BATCH = 10_000


class ReleaseLoop:
    """Settles due copies, then sleeps until the next one is due, a poll interval passes, or
    ``wake`` is called (by the planner, a preference change, or a test that moved its clock)."""

    def __init__(
        self,
        store: SchedulerStore,
        publisher: Publisher,
        clock: Clock,
        *,
        batch_size: int,
        poll: timedelta,
        lock_timeout: timedelta,
        retention: timedelta,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.clock = clock
        self.batch_size = batch_size
        self.poll = poll
        self.lock_timeout = lock_timeout
        self.retention = retention
        self._poke = asyncio.Event()
        self._looks_at: datetime | None = None
        self._next_prune: datetime | None = None

    def wake(self, due_at: datetime | None = None) -> None:
        """Look again now, or only if ``due_at`` is earlier than the loop's next planned look."""
        if due_at is None or self._looks_at is None or due_at < self._looks_at:
            self._poke.set()

    async def release_due(self) -> int:
        """Settle every copy due by now that no other replica holds; return how many."""
        total = 0
        while True:
            settled = await self._release_batch()
            total += settled
            if settled < self.batch_size:
                return total

    async def _release_batch(self) -> int:
        async with transaction(self.store.pool) as conn:
            now = self.clock.now()
            claimed = await self.store.claim(conn, now, self.batch_size, self.lock_timeout)
            if not claimed:
                return 0
            events = await self._settle(conn, [item.copy for item in claimed], now)
            output: list[tuple[Topic, Model]] = [(_topic_of(event), event) for event in events]
            output += [(topics.TRACE, traces.settled(event)) for event in events]
            with releasing(claimed):
                await self.publisher.publish_all(output)
            await self.store.settle(
                conn,
                [
                    (item.event_id, _state_of(event))
                    for item, event in zip(claimed, events, strict=True)
                ],
                now,
            )
        metrics.settled(events)
        return len(claimed)

    @staticmethod
    async def _settle(
        conn: Connection, copies: list[outcomes.HeldCopy], now: datetime
    ) -> list[NotificationDue | NotificationExpired | NotificationWithheld]:
        """Each copy's event: expired past its deadline, else withheld by the user's opt-outs or
        the category's cap, else due. Only copies that would go out are looked at (and counted)."""
        settled = [outcomes.settle(copy, now) for copy in copies]
        going = [i for i, event in enumerate(settled) if isinstance(event, NotificationDue)]
        reasons = await withheld_reasons(conn, [copies[i].notification for i in going], now)
        events: list[NotificationDue | NotificationExpired | NotificationWithheld] = list(settled)
        for index, reason in zip(going, reasons, strict=True):
            if reason is not None:
                events[index] = outcomes.withheld(copies[index], reason, now)
        return events

    async def run(self, stopping: asyncio.Event) -> None:
        """Release until ``stopping`` is set; outages of the database or broker are waited out."""
        failures = 0
        while not stopping.is_set():
            self._poke.clear()
            self._looks_at = None
            try:
                settled = await self.release_due()
                await self._prune()
                delay = self._delay(await self.store.next_act_at(), settled)
                failures = 0
            except RETRYABLE as error:
                failures += 1
                delay = backoff_delay(failures)
                log.warning("release loop: %s; retrying in %.1fs", error, delay)
            await self._sleep(delay, stopping)

    def _delay(self, next_act_at: datetime | None, settled: int) -> float:
        now = self.clock.now()
        wait = self.poll.total_seconds()
        if next_act_at is not None:
            until = (next_act_at - now).total_seconds()
            busy = until <= 0 and settled == 0
            wait = min(wait, BUSY_RETRY_SECONDS if busy else max(until, 0.0))
        self._looks_at = now + timedelta(seconds=wait)
        return wait

    async def _sleep(self, delay: float, stopping: asyncio.Event) -> None:
        if delay <= 0 or self._poke.is_set():
            return
        waiters = {asyncio.ensure_future(self._poke.wait()), asyncio.ensure_future(stopping.wait())}
        try:
            await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiter

    async def _prune(self) -> None:
        now = self.clock.now()
        if self._next_prune is not None and now < self._next_prune:
            return
        self._next_prune = now + min(self.retention, timedelta(minutes=10))
        pruned = await self.store.prune(now - self.retention, PRUNE_BATCH)
        async with transaction(self.store.pool) as conn:
            await frequency_store.forget_before(
                conn, now - timedelta(seconds=MAX_CAP_WINDOW_SECONDS)
            )
        if pruned:
            log.info("forgot %d copies settled more than %s ago", pruned, self.retention)


def _topic_of(event: Model) -> Topic:
    if isinstance(event, NotificationDue):
        return topics.DUE
    return topics.WITHHELD if isinstance(event, NotificationWithheld) else topics.EXPIRED


def _state_of(event: Model) -> State:
    if isinstance(event, NotificationDue):
        return "released"
    return "withheld" if isinstance(event, NotificationWithheld) else "expired"


def releasing(claimed: list[Claimed]) -> AbstractContextManager[TracedBatch | None]:
    """A ``release`` span per copy in the trace the copy came in with, so what is published for
    it continues that trace however long it was held."""
    if not tracing_enabled():
        return contextlib.nullcontext()
    items = [
        Traced(
            item.copy.notification,
            context_from(item.trace_context),
            attributes=message_attributes(item.copy.notification),
        )
        for item in claimed
    ]
    return traced_batch("release", items, kind=SpanKind.PRODUCER, attributes={})
