"""The broker connection a service publishes through, with topic names resolved from the catalog.

Publishing never awaits each message: a whole step's output is sent at once and awaited together,
so the producer can batch, and the step's offset is committed only after all of it is durable.
Records go straight to the aiokafka producer FastStream connected: FastStream's own publish builds
a command, runs its codec and middlewares and draws a random correlation id for every record,
which cost about as much as aiokafka's send itself on the per-device path.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from faststream.kafka.publisher.producer import AioKafkaFastProducerImpl

from contracts.base import Model
from contracts.codec import encode
from contracts.topics import Topic
from shared.kafka.clients import bootstrap_servers, broker_security
from shared.kafka.partitioning import partition_for
from shared.kafka.tracing import headers_continuing
from shared.metrics.kafka import count_produced
from shared.settings import KafkaSettings
from shared.telemetry import tracing_enabled

HEADERS = {"content-type": "application/json"}
_CONTENT_TYPE = [(name, value.encode()) for name, value in HEADERS.items()]

#: Headers computed from a record's value bytes: its signature, for topics whose readers check one.
Signer = Callable[[bytes], Mapping[str, str]]


class _TopicsAreCreatedExplicitly(logging.Filter):
    """FastStream warns at every subscriber start that auto-creation is off; it is on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Auto create topics is disabled" not in record.getMessage()


class _HandedBackOnShutdown(logging.Filter):
    """FastStream logs a handler cancelled at the end of a shutdown's drain as an error with a
    traceback; the consumer logs what it handed back instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.exc_info is None or not isinstance(record.exc_info[1], asyncio.CancelledError)


async def acknowledged(futures: Sequence[asyncio.Future[Any]]) -> None:
    """Wait for every send's acknowledgement; raise the first failure, in send order.

    The futures are awaited one by one: a produce request acknowledges many records at once, so
    most are done when reached, and this costs 0.05-0.4 us a record where ``asyncio.gather``,
    which wraps and calls back each one, cost about 1 us. After a failure the others are still
    watched, so a later failure is not reported as an exception never retrieved.
    """
    for index, future in enumerate(futures):
        try:
            await future
        except BaseException:
            for rest in futures[index + 1 :]:
                rest.add_done_callback(_retrieve)
            raise


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class Publisher(Protocol):
    """What a handler needs to send its output; a Bus, or a recording fake in unit tests."""

    async def publish_all(self, items: Iterable[tuple[Topic, Model]]) -> None: ...


@dataclass
class Bus:
    """A started or startable broker plus the topic prefix of this deployment.

    ``in_flight``: records each consumer has fetched and not yet committed, by topic; what a
    shutdown waits for.
    """

    broker: KafkaBroker
    settings: KafkaSettings
    in_flight: Counter[str] = field(default_factory=Counter)

    async def start(self) -> None:
        """Connect, then start every subscriber at once. A subscriber's start waits for its
        group's join (half the session timeout on the embedded broker), and FastStream's own
        ``start`` waits for them one after another: three subscribers took 6 s instead of 2."""
        await self.broker.connect()
        await asyncio.gather(*(subscriber.start() for subscriber in self.broker.subscribers))
        for publisher in self.broker.publishers:
            await publisher.start()
        self.broker.running = True

    def address(self, topic: Topic | str) -> str:
        """The real topic name for a catalog topic (or a catalog name)."""
        name = topic if isinstance(topic, str) else topic.name
        return f"{self.settings.topic_prefix}{name}"

    async def publish_all(
        self, items: Iterable[tuple[Topic, Model]], *, signer: Signer | None = None
    ) -> None:
        """Send every message, keyed per the catalog, and return once all are acknowledged.

        ``signer`` adds the headers it computes from each record's value (a signature). Each
        record carries the trace context of the input it continues (shared.kafka.tracing).
        """
        producer = self.producer()
        # Asked once per call: without a tracer provider, OpenTelemetry's lookup reads the
        # environment each time, about 2 us a record.
        traced = tracing_enabled()
        pending = []
        sent: list[str] = []
        try:
            for topic, message in items:
                value = encode(message)
                extra = headers_continuing(message) if traced else {}
                if signer is not None:
                    extra |= signer(value)
                headers = _CONTENT_TYPE
                if extra:
                    headers = _CONTENT_TYPE + [
                        (name, text.encode()) for name, text in extra.items()
                    ]
                pending.append(
                    await producer.send(
                        self.address(topic), value, key=topic.key_of(message), headers=headers
                    )
                )
                sent.append(topic.name)
        except BaseException:
            # The sends already queued still settle; a failure among them must not be logged as
            # never retrieved (the caller publishes the whole batch again).
            for future in pending:
                future.add_done_callback(_retrieve)
            raise
        if pending:
            await acknowledged(pending)
            count_produced(sent)

    def producer(self) -> AIOKafkaProducer:
        """The aiokafka producer of the connected broker (FastStream refuses before connect).

        FastStream offers no public way to it; a release that moves it fails every publish here,
        loudly, and every integration test with it.
        """
        connected = self.broker.config.producer
        if not isinstance(connected, AioKafkaFastProducerImpl):
            raise TypeError(f"unexpected FastStream producer {type(connected).__name__}")
        return connected._producer.producer

    async def publish(self, topic: Topic, message: Model) -> None:
        """Send one message and wait for the broker's acknowledgement."""
        await self.publish_all([(topic, message)])

    async def publish_raw(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        """Send bytes as they are (tests and tools that must produce malformed input)."""
        future = await self.broker.publish(
            value, self.address(topic), key=key, headers=HEADERS, no_confirm=True
        )
        await future


def create_bus(settings: KafkaSettings, *, client_id: str) -> Bus:
    """A broker configured for Herald: explicit topics only, acks from all in-sync replicas (so a
    write survives the loss of a broker), idempotent where the settings say, TLS and SASL per the
    settings. Trace context rides in record headers when tracing is on (shared.kafka.tracing).
    Keys are hashed natively onto the partitions Kafka's own clients choose
    (shared.kafka.partitioning).

    Handlers take the FastStream message as it is (``apply_types=False``): with argument
    injection on, FastStream resolved the handler's message parameter through fast_depends, which
    runs that lookup in a worker thread, one thread hand-off per batch (in the registry's
    profile, about as much CPU as everything else FastStream does around a batch)."""
    logger = logging.getLogger(f"herald.kafka.{client_id}")
    logger.addFilter(_TopicsAreCreatedExplicitly())
    logger.addFilter(_HandedBackOnShutdown())
    broker = KafkaBroker(
        bootstrap_servers(settings),
        security=broker_security(settings),
        client_id=client_id,
        allow_auto_create_topics=False,
        enable_idempotence=settings.kafka_idempotence,
        acks="all",
        linger_ms=settings.producer_linger_ms,
        max_request_size=settings.max_message_bytes,
        partitioner=partition_for,
        logger=logger,
        log_level=logging.DEBUG,
        graceful_timeout=settings.shutdown_drain_seconds,
        apply_types=False,
    )
    return Bus(broker=broker, settings=settings)
