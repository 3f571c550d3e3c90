"""Reading and writing topics from tests, each test under its own topic prefix."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from contracts.base import Model
from contracts.codec import decode, encode
from contracts.topics import Topic
from shared.kafka.bus import Signer
from shared.kafka.clients import client_options
from shared.kafka.follower import TopicFollower
from shared.settings import KafkaSettings
from tests.support.brokers import ON_KAFKA


def kafka_settings_for_test(
    bootstrap: str, prefix: str | None = None, **overrides: Any
) -> KafkaSettings:
    """Settings for a test: a unique topic prefix, fast group membership, and the idempotent
    producer only on Apache Kafka (the embedded broker refuses it)."""
    values: dict[str, Any] = {
        "kafka_bootstrap": bootstrap,
        "topic_prefix": prefix if prefix is not None else f"t{uuid.uuid4().hex[:10]}.",
        "session_timeout_ms": 3000,
        "heartbeat_interval_ms": 1000,
        "handler_max_attempts": 2,
        "kafka_idempotence": ON_KAFKA,
    }
    values.update(overrides)
    return KafkaSettings(**values)


class TopicIO:
    """Produce to and read back from the catalog's topics under one prefix; ``signer`` signs each
    record produced (an app's intake key, or the registry's announcements)."""

    def __init__(self, settings: KafkaSettings, signer: Signer | None = None) -> None:
        self.settings = settings
        self.signer = signer

    def address(self, topic: Topic | str) -> str:
        name = topic if isinstance(topic, str) else topic.name
        return f"{self.settings.topic_prefix}{name}"

    async def produce(self, topic: Topic, *messages: Model) -> None:
        await self.produce_raw(topic, *((topic.key_of(m), encode(m)) for m in messages))

    async def produce_raw(
        self,
        topic: Topic | str,
        *records: tuple[bytes | None, bytes],
        headers: Sequence[tuple[str, bytes | None]] = (),
    ) -> None:
        """Send ``records`` as (key, value) pairs, each with ``headers`` and, when this has a
        signer, its signature."""
        producer = AIOKafkaProducer(**client_options(self.settings))
        await producer.start()
        try:
            futures = [
                await producer.send(
                    self.address(topic),
                    value=value,
                    key=key,
                    headers=[*headers, *self._signature(value)],
                )
                for key, value in records
            ]
            await asyncio.gather(*futures)
        finally:
            await producer.stop()

    def _signature(self, value: bytes) -> list[tuple[str, bytes]]:
        if self.signer is None:
            return []
        return [(name, text.encode()) for name, text in self.signer(value).items()]

    async def read(
        self,
        topic: Topic,
        *,
        until: Callable[[list[Any]], bool],
        timeout: float = 20.0,
        decoded: bool = True,
    ) -> list[Any]:
        """Read ``topic`` from the start until ``until(messages)`` holds; fail after ``timeout``."""
        found: list[Any] = []

        def keep(record: ConsumerRecord) -> None:
            found.append(decode(topic, record.value) if decoded else record)

        follower = TopicFollower(self.settings, topic, client_id="test-topic-io")
        await follower.start()
        try:
            async with asyncio.timeout(timeout):
                while not until(found):
                    await follower.poll(keep)
        except TimeoutError:
            raise AssertionError(
                f"{topic.name}: condition not met after {timeout}s; read {len(found)} messages"
            ) from None
        finally:
            await follower.stop()
        return found
