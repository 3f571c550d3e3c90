"""Consumers that commit an offset only after the handler's effects are durable.

Each batch goes: raw bytes -> contracts codec (bad input is parked at once) -> the service's
handler -> dead letters published (with the ``parked`` trace step of each message that names a
notification) -> offset committed. Failures follow shared.errors: transient ones are retried until
they pass, anything else a bounded number of times, then the failing message alone is parked, so
one poison message never stalls its partition or loses its neighbours.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaMessage
from faststream.kafka.message import KafkaAckableMessage
from faststream.kafka.subscriber.usecase import BatchSubscriber

from contracts.base import Model
from contracts.codec import DecodeError, decode
from contracts.deadletter import DeadLetter
from contracts.notifications import NotificationRejected, SourceHeader, SourceRecord
from contracts.topics import TRACE, Topic, by_name
from shared.clock import Clock
from shared.errors import RETRYABLE, PermanentError
from shared.kafka.bus import Bus
from shared.kafka.clients import fetch_bytes
from shared.kafka.parked import VALUE_CUT
from shared.kafka.parked_trace import parked_step
from shared.kafka.tracing import consuming
from shared.metrics.kafka import ConsumerMeter

log = logging.getLogger(__name__)

M = TypeVar("M", bound=Model)

MAX_BACKOFF_SECONDS = 30.0
#: A dead letter must fit on its topic whatever arrived: the key, the reason and ids copied from
#: the input are cut to these lengths (all within the overhead), the headers to their own budget
#: (as JSON), the value to what fits in base64 in the rest.
MAX_KEPT_KEY_BYTES = 1024
MAX_REASON_CHARS = 4096
MAX_COPIED_ID_CHARS = 128
DEAD_LETTER_OVERHEAD_BYTES = 8192
MAX_KEPT_HEADERS_JSON_BYTES = 8192


@dataclass(frozen=True)
class Received(Generic[M]):
    """A decoded message and the record it came from (its headers too: a signature, say)."""

    message: M
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes | None], ...] = ()


@dataclass(frozen=True)
class Rejection:
    """A message the handler refuses for good; it is parked on the dead-letter topic."""

    received: Received[Any]
    reason: str


Handler = Callable[[Sequence[Received[M]]], Awaitable[Sequence[Rejection]]]


def backoff_delay(attempt: int, *, base: float = 0.2, cap: float = MAX_BACKOFF_SECONDS) -> float:
    """Exponential backoff with full jitter: a random wait up to base * 2^attempt, capped."""
    ceiling: float = min(cap, base * (2 ** min(attempt, 16)))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security


class BatchProcessor(Generic[M]):
    """Runs one subscription's batches through decode, handler, dead letters and commit."""

    def __init__(
        self, bus: Bus, topic: Topic, group: str, handler: Handler[M], clock: Clock
    ) -> None:
        if topic.dead_letter is None:
            raise ValueError(f"topic {topic.name} has no dead-letter topic in the catalog")
        self.bus = bus
        self.topic = topic
        self.group = group
        self.handler = handler
        self.clock = clock
        self.dead_letter_topic = by_name(topic.dead_letter)
        self.max_attempts = bus.settings.handler_max_attempts
        self.meter = ConsumerMeter(topic.name, group)

    async def process(self, records: Sequence[Any]) -> None:
        """Handle one fetched batch completely; the caller commits afterwards."""
        self.meter.consumed(len(records))
        received: list[Received[M]] = []
        parked: list[tuple[Received[Any] | Any, str, DecodeError | None]] = []
        for record in records:
            try:
                message = decode(self.topic, record.value)
            except DecodeError as error:
                parked.append((record, error.reason, error))
                continue
            received.append(
                Received(
                    message,  # type: ignore[arg-type]
                    record.topic,
                    record.partition,
                    record.offset,
                    record.key,
                    record.value,
                    tuple(record.headers or ()),
                )
            )
        with consuming(
            self.topic.name,
            self.bus.address(self.topic),
            f"{self.bus.settings.topic_prefix}{self.group}",
            [*received, *(item for item, _, _ in parked)],
        ) as trace:
            for rejection in await self._handle(received):
                parked.append((rejection.received, rejection.reason, None))
            if parked:
                if trace is not None:
                    for item, reason, _ in parked:
                        trace.failed((item.partition, item.offset), reason)
                await self.bus.publish_all(self._parking(parked))

    async def _handle(self, batch: list[Received[M]]) -> list[Rejection]:
        if not batch:
            return []
        failures = 0
        transient = 0
        while True:
            try:
                return list(await self.handler(batch))
            except RETRYABLE as error:
                self.meter.failed("transient", len(batch))
                transient += 1
                delay = getattr(error, "retry_after", None) or backoff_delay(transient)
                log.warning(
                    "transient failure on %s (%s); retrying in %.1fs",
                    self.topic.name,
                    error,
                    delay,
                )
                await asyncio.sleep(delay)
            except PermanentError as error:
                self.meter.failed("permanent", len(batch))
                if len(batch) == 1:
                    return [Rejection(batch[0], error.reason)]
                return await self._one_by_one(batch)
            except Exception as error:
                self.meter.failed("error", len(batch))
                failures += 1
                if failures < self.max_attempts:
                    log.exception("handler failed on %s, attempt %d", self.topic.name, failures)
                    await asyncio.sleep(backoff_delay(failures))
                    continue
                if len(batch) == 1:
                    reason = f"handler failed {failures} times: {type(error).__name__}: {error}"
                    log.error("parking %s@%d: %s", batch[0].topic, batch[0].offset, reason)
                    return [Rejection(batch[0], reason)]
                return await self._one_by_one(batch)

    async def _one_by_one(self, batch: list[Received[M]]) -> list[Rejection]:
        rejections: list[Rejection] = []
        for item in batch:
            rejections.extend(await self._handle([item]))
        return rejections

    def _parking(
        self, parked: Sequence[tuple[Received[Any] | Any, str, DecodeError | None]]
    ) -> list[tuple[Topic, Model]]:
        """The dead letters, each followed by its ``parked`` trace step when it has one."""
        now = self.clock.now()
        output: list[tuple[Topic, Model]] = []
        for item, reason, error in parked:
            output.append((self.dead_letter_topic, self._dead_letter(item, reason, error)))
            message = getattr(item, "message", None)
            step = None if message is None else parked_step(message, self.topic, reason, now)
            if step is not None:
                output.append((TRACE, step))
        return output

    def _dead_letter(
        self, item: Received[Any] | Any, reason: str, error: DecodeError | None
    ) -> Model:
        self.meter.parked("undecodable" if error is not None else "refused")
        value: bytes = item.value if item.value is not None else b""
        key: bytes | None = item.key
        headers, headers_cut = _kept_headers(item.headers or ())
        room = self.bus.settings.max_message_bytes - DEAD_LETTER_OVERHEAD_BYTES
        kept = max(0, (room - MAX_KEPT_HEADERS_JSON_BYTES) * 3 // 4)
        cuts = [headers_cut] if headers_cut else []
        if len(value) > kept:
            cuts.append(f"{VALUE_CUT} {kept} of {len(value)} bytes")
            value = value[:kept]
        if key is not None and len(key) > MAX_KEPT_KEY_BYTES:
            cuts.append(f"key cut to its first {MAX_KEPT_KEY_BYTES} of {len(key)} bytes")
            key = key[:MAX_KEPT_KEY_BYTES]
        if len(reason) > MAX_REASON_CHARS:
            reason = reason[:MAX_REASON_CHARS] + "..."
        if cuts:
            reason = f"{reason} ({'; '.join(cuts)})"
        source = SourceRecord(
            topic=item.topic,
            partition=item.partition,
            offset=item.offset,
            key=key,
            value=value,
            headers=headers,
        )
        now = self.clock.now()
        if self.dead_letter_topic.message is NotificationRejected:
            message = getattr(item, "message", None)
            return NotificationRejected(
                event_id=uuid.uuid4(),
                occurred_at=now,
                app_id=_short(
                    getattr(message, "app_id", None) or (error.app_id if error else None)
                ),
                idempotency_key=_short(
                    getattr(message, "idempotency_key", None)
                    or (error.idempotency_key if error else None)
                ),
                reason=reason,
                source=source,
            )
        return DeadLetter(
            event_id=uuid.uuid4(),
            occurred_at=now,
            reason=reason,
            consumer_group=self.group,
            attempts=self.max_attempts if error is None else 1,
            source=source,
        )


def _kept_headers(
    headers: Sequence[tuple[str, bytes | None]],
) -> tuple[tuple[SourceHeader, ...], str | None]:
    """The record's headers in order while their JSON fits its budget, and what was left out
    (None when nothing was)."""
    kept: list[SourceHeader] = []
    size = 0
    for number, (name, value) in enumerate(headers):
        header = SourceHeader(name=name, value=value)
        size += len(header.model_dump_json()) + 1
        if size > MAX_KEPT_HEADERS_JSON_BYTES:
            return tuple(kept), f"headers cut to their first {number} of {len(headers)}"
        kept.append(header)
    return tuple(kept), None


def _short(copied: str | None) -> str | None:
    """An id copied from bad input, unless it is too long to be one."""
    return copied if copied is not None and len(copied) <= MAX_COPIED_ID_CHARS else None


class _BareBatch:
    """Parses a fetched batch into the one FastStream message the handler acks, and nothing else.

    The message has no body, headers or reply address for FastStream's middlewares or test
    client to read: ``subscribe`` is the broker's only subscriber and uses none of them.

    FastStream's own batch parser decodes every record's headers into a dict and collects the
    bodies, and its decoder json-loads each body; the codec decodes instead (hostile bytes, such
    as nesting that raises RecursionError, must not fail the whole batch), so that work was thrown
    away on every batch.
    """

    def __init__(self, subscriber: BatchSubscriber) -> None:
        self.subscriber = subscriber

    async def parse(self, records: tuple[ConsumerRecord[Any, Any], ...]) -> KafkaMessage:
        """The batch as one ackable message; its consumer is the subscriber's current one (a
        restart makes a new one)."""
        if self.subscriber.consumer is None:
            raise RuntimeError("a batch arrived before its subscriber started")
        first, last = records[0], records[-1]
        batch_id = f"{first.offset}-{last.offset}-{first.timestamp}"
        return KafkaAckableMessage(
            records,
            b"",
            message_id=batch_id,
            correlation_id=batch_id,
            consumer=self.subscriber.consumer,
        )

    @staticmethod
    async def decode(message: KafkaMessage) -> KafkaMessage:
        """The handler gets the message itself (the broker runs without argument injection)."""
        return message


def subscribe(
    bus: Bus,
    topic: Topic,
    *,
    group: str,
    handler: Handler[M],
    clock: Clock,
    max_records: int | None = None,
    max_poll_interval_ms: int = 5 * 60 * 1000,
) -> BatchProcessor[M]:
    """Consume ``topic`` in batches as consumer group ``group``, committing after effects.

    A handler whose batch may run for minutes (a broadcast's audience) takes fewer records and a
    longer ``max_poll_interval_ms``: past it the broker counts the consumer as gone, hands its
    partitions to another replica, and both work on the same batch.
    """
    processor = BatchProcessor(bus, topic, group, handler, clock)
    settings = bus.settings

    subscriber = bus.broker.subscriber(
        bus.address(topic),
        group_id=f"{settings.topic_prefix}{group}",
        batch=True,
        max_records=max_records or settings.consumer_max_records,
        max_poll_interval_ms=max_poll_interval_ms,
        batch_timeout_ms=settings.consumer_batch_timeout_ms,
        fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
        fetch_max_bytes=fetch_bytes(
            settings.consumer_fetch_max_bytes, settings.partitions_of(topic)
        ),
        ack_policy=AckPolicy.MANUAL,
        no_reply=True,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=settings.heartbeat_interval_ms,
        max_partition_fetch_bytes=settings.max_message_bytes,
    )
    bare = _BareBatch(subscriber)

    async def consume(msg: KafkaMessage) -> None:
        raw = msg.raw_message
        records = raw if isinstance(raw, tuple) else (raw,)
        bus.in_flight[topic.name] += len(records)
        try:
            with processor.meter.handling():
                await processor.process(records)
            await msg.ack()
        except asyncio.CancelledError:
            log.warning(
                "%s: %d messages handed back uncommitted (stopped before they were done); "
                "the group delivers them again",
                topic.name,
                len(records),
            )
            raise
        finally:
            bus.in_flight[topic.name] -= len(records)
            # The decoded body FastStream caches on the message is the message itself: clearing
            # it breaks that cycle, so the batch is freed now, not at the next full collection.
            msg.clear_cache()

    subscriber(consume, parser=bare.parse, decoder=bare.decode)
    return processor
