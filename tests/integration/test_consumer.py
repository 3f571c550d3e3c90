"""The consumer glue on the real broker: poison messages are parked, transient failures retried."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from prometheus_client import REGISTRY

from contracts import topics
from contracts.codec import encode
from contracts.deadletter import DeadLetter
from contracts.notifications import NotificationDue
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.ports import free_port
from shared.errors import TransientError
from shared.http import create_http_app
from shared.kafka import Received, Rejection, create_bus, subscribe
from shared.kafka.consumer import Handler
from shared.metrics.lag import LagMonitor
from shared.runtime import ServiceParts, prepare_topics
from shared.settings import HttpSettings, KafkaSettings
from tests.support.clock import FrozenClock
from tests.support.factories import due
from tests.support.kafka import TopicIO, kafka_settings_for_test
from tests.support.services import running

pytestmark = pytest.mark.integration


class FlakyHandler:
    """Fails for good on 'poison' users, fails transiently twice on 'flaky' users."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.transient_left = 2
        self.three_done = asyncio.Event()

    async def __call__(self, batch: Sequence[Received[NotificationDue]]) -> Sequence[Rejection]:
        for item in batch:
            user = item.message.user_id
            if user.startswith("poison"):
                raise ValueError(f"cannot handle {user}")
            if user.startswith("flaky") and self.transient_left:
                self.transient_left -= 1
                raise TransientError("database briefly away", retry_after=0.05)
        self.done.extend(item.message.user_id for item in batch)
        if len(self.done) >= 3:
            self.three_done.set()
        return ()


async def consuming_due(
    kafka: KafkaSettings, name: str, handler: Handler[NotificationDue], clock: FrozenClock
) -> ServiceParts:
    """A service of one consumer group, ``name``, reading notifications.due with ``handler``."""
    await prepare_topics(kafka)
    bus = create_bus(kafka, client_id=name)
    subscribe(bus, topics.DUE, group=name, handler=handler, clock=clock)
    return ServiceParts(
        name=name,
        bus=bus,
        http_app=create_http_app(title="t", description="t"),
        http=HttpSettings(http_port=free_port()),
    )


async def test_poison_is_parked_and_neighbours_still_processed(broker: EmbeddedBroker) -> None:
    kafka = kafka_settings_for_test(broker.bootstrap, handler_max_attempts=2)
    clock = FrozenClock()
    handler = FlakyHandler()
    parts = await consuming_due(kafka, "glue-test", handler, clock)
    io = TopicIO(kafka)
    messages = [due(clock.now(), name) for name in ("ok-1", "poison-1", "flaky-1", "ok-2")]
    counts_before = consumer_counts("glue-test")

    async with running(parts):
        await io.produce(topics.DUE, *messages)
        await io.produce_raw(
            topics.DUE, (b"k", b'{"type": "notification.due"'), headers=[("signed", b"v1=k:0")]
        )
        parked = await io.read(by_name_dlq(), until=lambda found: len(found) >= 2)
        [traced] = await io.read(topics.TRACE, until=lambda found: len(found) >= 1)
        await asyncio.wait_for(handler.three_done.wait(), timeout=10)

    assert sorted(handler.done) == ["flaky-1", "ok-1", "ok-2"]
    assert all(isinstance(p, DeadLetter) for p in parked)
    by_reason = {p.reason.split(":")[0]: p for p in parked}
    poison = by_reason["handler failed 2 times"]
    assert poison.consumer_group == "glue-test"
    poison_message = next(m for m in messages if m.user_id == "poison-1")
    assert poison.source.value == encode(poison_message)
    assert by_reason["not valid JSON"].source.value == b'{"type": "notification.due"'
    kept = by_reason["not valid JSON"].source.headers
    assert [(header.name, header.value) for header in kept] == [("signed", b"v1=k:0")]
    assert (traced.stage, traced.notification_id, traced.user_id, traced.reason) == (
        "parked",
        poison_message.notification_id,
        "poison-1",
        poison.reason,
    )
    moved = {
        name: count - counts_before[name] for name, count in consumer_counts("glue-test").items()
    }
    assert moved["consumed"] == 5
    assert moved["parked undecodable"] == moved["parked refused"] == 1
    assert moved["failed transient"] >= 2
    assert moved["failed error"] >= 2


class RecordingHandler:
    """Notes the users it is given; set once ``expected`` have come."""

    def __init__(self, expected: int) -> None:
        self.done: list[str] = []
        self.expected = expected
        self.all_done = asyncio.Event()

    async def __call__(self, batch: Sequence[Received[NotificationDue]]) -> Sequence[Rejection]:
        self.done.extend(item.message.user_id for item in batch)
        if len(self.done) >= self.expected:
            self.all_done.set()
        return ()


async def test_a_record_with_headers_no_text_decoder_reads_is_handled_with_its_neighbours(
    broker: EmbeddedBroker,
) -> None:
    kafka = kafka_settings_for_test(broker.bootstrap)
    clock = FrozenClock()
    handler = RecordingHandler(expected=3)
    parts = await consuming_due(kafka, "odd-headers", handler, clock)
    io = TopicIO(kafka)
    odd = due(clock.now(), "odd-headers")

    async with running(parts):
        await io.produce(topics.DUE, due(clock.now(), "before"))
        await io.produce_raw(
            topics.DUE, (b"odd-headers", encode(odd)), headers=[("x", None), ("y", b"\xff")]
        )
        await io.produce(topics.DUE, due(clock.now(), "after"))
        await asyncio.wait_for(handler.all_done.wait(), timeout=20)

    assert sorted(handler.done) == ["after", "before", "odd-headers"]


def consumer_counts(group: str) -> dict[str, float]:
    """The consumer instruments of ``group`` on the due topic, as this process counts them."""
    labels = {"topic": topics.DUE.name, "group": group}

    def value(name: str, **extra: str) -> float:
        return REGISTRY.get_sample_value(name, labels | extra) or 0.0

    return {
        "consumed": value("herald_messages_consumed_total"),
        "parked undecodable": value("herald_messages_parked_total", cause="undecodable"),
        "parked refused": value("herald_messages_parked_total", cause="refused"),
        "failed transient": value("herald_messages_failed_total", kind="transient"),
        "failed error": value("herald_messages_failed_total", kind="error"),
    }


class BlockingHandler:
    """Holds its first batch until released, so records behind it wait on the partition."""

    def __init__(self) -> None:
        self.first = asyncio.Event()
        self.release = asyncio.Event()
        self.partitions: set[int] = set()
        self.handled = 0
        self.all_handled = asyncio.Event()

    async def __call__(self, batch: Sequence[Received[NotificationDue]]) -> Sequence[Rejection]:
        self.partitions.update(item.partition for item in batch)
        self.first.set()
        await self.release.wait()
        self.handled += len(batch)
        if self.handled >= 5:
            self.all_handled.set()
        return ()


async def test_lag_is_what_the_broker_holds_beyond_the_consumers_position(
    broker: EmbeddedBroker,
) -> None:
    kafka = kafka_settings_for_test(broker.bootstrap)
    clock = FrozenClock()
    handler = BlockingHandler()
    parts = await consuming_due(kafka, "lag-test", handler, clock)
    io = TopicIO(kafka)
    monitor = LagMonitor(parts.bus.broker, kafka.topic_prefix)

    async with running(parts):
        await io.produce(topics.DUE, due(clock.now(), "lagging-user"))
        await asyncio.wait_for(handler.first.wait(), timeout=10)
        await io.produce(topics.DUE, *(due(clock.now(), "lagging-user") for _ in range(4)))
        [partition] = handler.partitions
        labels = {"group": "lag-test", "topic": topics.DUE.name, "partition": str(partition)}
        await monitor.sample()
        held_back = REGISTRY.get_sample_value("herald_consumer_lag_messages", labels)
        handler.release.set()
        await asyncio.wait_for(handler.all_handled.wait(), timeout=10)
        await monitor.sample()
        caught_up = REGISTRY.get_sample_value("herald_consumer_lag_messages", labels)

    assert held_back == 4
    assert caught_up == 0


def by_name_dlq() -> topics.Topic:
    assert topics.DUE.dead_letter is not None
    return topics.by_name(topics.DUE.dead_letter)
