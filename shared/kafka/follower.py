"""Reading a whole topic without a consumer group, so that every replica sees every record.

For what each replica needs in full (every app's state from ``apps.changed``) or may be waiting for
(a cancel's result); tests read topics back the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Literal

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaConnectionError
from aiokafka.structs import ConsumerRecord

from contracts.topics import Topic
from shared.kafka.clients import client_options, fetch_bytes, refusal
from shared.settings import KafkaSettings

#: Called with each record in partition order; it must not block.
RecordHandler = Callable[[ConsumerRecord], None]


def seek_to_first(consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> None:
    """Read ``partitions`` from offset 0 rather than from the broker's answer for "earliest": the
    embedded broker has answered 7 (a partition's second batch) for partitions two producers had
    written at once, and readers lost the first batch. Where retention removed the start, the
    consumer's reset policy ("earliest") moves on to the first offset that exists."""
    for partition in partitions:
        consumer.seek(partition, 0)


class TopicFollower:
    """All partitions of one topic, from its beginning or its end, then whatever comes next.

    ``start`` places the follower; ``catch_up`` reads what was on the topic at that moment (so a
    directory built from it is complete); ``follow`` keeps reading until told to stop.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        topic: Topic,
        *,
        client_id: str,
        start_at: Literal["beginning", "end"] = "beginning",
        poll_ms: int = 200,
    ) -> None:
        self.settings = settings
        self.topic = topic
        self.client_id = client_id
        self.start_at = start_at
        self.poll_ms = poll_ms
        self._consumer: AIOKafkaConsumer | None = None
        self._ends: dict[TopicPartition, int] = {}

    async def start(self) -> None:
        """Connect, take every partition, and note where "caught up" is."""
        consumer = AIOKafkaConsumer(
            **client_options(self.settings),
            client_id=self.client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_bytes=fetch_bytes(
                self.settings.consumer_fetch_max_bytes, self.settings.partitions_of(self.topic)
            ),
            max_partition_fetch_bytes=self.settings.max_message_bytes,
        )
        try:
            await consumer.start()
        except KafkaConnectionError as error:
            await consumer.stop()
            raise await refusal(self.settings) from error
        try:
            partitions = self._partitions(consumer)
            consumer.assign(partitions)
            if self.start_at == "beginning":
                seek_to_first(consumer, partitions)
                self._ends = await consumer.end_offsets(partitions)
            else:
                await consumer.seek_to_end(*partitions)
                self._ends = {p: await consumer.position(p) for p in partitions}
        except BaseException:
            await consumer.stop()
            raise
        self._consumer = consumer

    def _partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        """Every partition the broker knows of; the configured count for a topic not created yet."""
        name = self.settings.address(self.topic)
        known = consumer.partitions_for_topic(name)
        numbers = sorted(known) if known else range(self.settings.partitions_of(self.topic))
        return [TopicPartition(name, number) for number in numbers]

    async def catch_up(self, handle: RecordHandler) -> None:
        """Hand ``handle`` everything published before ``start`` (bound it with a timeout)."""
        while await self._behind():
            await self.poll(handle)

    async def poll(self, handle: RecordHandler) -> None:
        """Hand ``handle`` what one fetch brings (nothing, after ``poll_ms``, when idle)."""
        batches = await self._started().getmany(timeout_ms=self.poll_ms)
        for records in batches.values():
            for record in records:
                handle(record)

    async def follow(self, handle: RecordHandler, stopping: asyncio.Event) -> None:
        """Hand ``handle`` each new record until ``stopping`` is set, then disconnect."""
        try:
            while not stopping.is_set():
                await self.poll(handle)
        finally:
            await self.stop()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def _behind(self) -> bool:
        consumer = self._started()
        for partition, end in self._ends.items():
            if await consumer.position(partition) < end:
                return True
        return False

    def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError(f"follower of {self.topic.name} used before start")
        return self._consumer
