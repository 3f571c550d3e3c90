"""When a broadcast is fully issued: every per-device push request is on a push topic (what the
registry's fan-out produced), before the dispatchers send them.

Records are counted by reading the push topics from the beginning: the embedded broker's end
offsets lag behind (they point at the last batch, not past it), so they cannot be trusted here.
"""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts import topics
from shared.kafka.clients import client_options
from shared.kafka.follower import seek_to_first
from shared.settings import KafkaSettings

READ_TIMEOUT_MS = 200
MAX_RECORDS = 10_000
MAX_START_READS = 10_000


class PushTopics:
    """Counts the records on the three push topics."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(
            **client_options(KafkaSettings(kafka_bootstrap=bootstrap)),
            enable_auto_commit=False,
            fetch_max_wait_ms=50,
        )
        self.partitions = [
            TopicPartition(topic.name, p)
            for topic in topics.PUSH.values()
            for p in range(topic.partitions)
        ]
        self.count = 0

    async def start(self) -> None:
        """Connect and count what is on the topics already: at least up to their end offsets,
        then until a read finds nothing more (the embedded broker's end offsets stop short).
        Stopping at the first empty read alone let a fetch that was merely slow to come back
        leave the earlier phases' records to be counted as the broadcast's: one Kafka run had
        all 109,002 pushes "issued" after 13 s, while they reached the providers over 77 s."""
        await self.consumer.start()
        self.consumer.assign(self.partitions)
        seek_to_first(self.consumer, list(self.partitions))
        ends = await self.consumer.end_offsets(self.partitions)
        for _ in range(MAX_START_READS):
            read = await self._read()
            if not read and not await self._behind(ends):
                break

    async def _behind(self, ends: dict[TopicPartition, int]) -> bool:
        for partition, end in ends.items():
            if await self.consumer.position(partition) < end:
                return True
        return False

    async def stop(self) -> None:
        await self.consumer.stop()

    async def _read(self) -> int:
        batches = await self.consumer.getmany(timeout_ms=READ_TIMEOUT_MS, max_records=MAX_RECORDS)
        read = sum(len(records) for records in batches.values())
        self.count += read
        return read

    async def time_of(self, count: int, stop: asyncio.Event) -> float | None:
        """The Unix time at which ``count`` more records had been read, or None when ``stop``
        came first."""
        target = self.count + count
        while not stop.is_set():
            await self._read()
            if self.count >= target:
                return time.time()
        return None
