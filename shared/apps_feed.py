"""Follows ``apps.changed`` into a service's AppDirectory, every replica reading everything.

No consumer group: each replica needs every app, so it assigns itself all partitions and reads
from the start. ``start`` returns once the directory has caught up with what was published before
it, so a service never answers a request with a half-loaded directory.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts import topics
from contracts.apps import AppChanged
from contracts.codec import DecodeError, decode_as
from shared.appdir import AppDirectory
from shared.settings import KafkaSettings

log = logging.getLogger(__name__)


class AppsFeed:
    """Keeps one AppDirectory current."""

    def __init__(self, settings: KafkaSettings, directory: AppDirectory, client_id: str) -> None:
        self.settings = settings
        self.directory = directory
        self.client_id = client_id
        self.consumer: AIOKafkaConsumer | None = None

    async def start(self, catch_up_seconds: float = 30.0) -> None:
        """Read everything already published, then return; the rest follows in ``run``."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            client_id=f"{self.client_id}-apps",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        self.consumer = consumer
        name = f"{self.settings.topic_prefix}{topics.APPS.name}"
        partitions = [TopicPartition(name, p) for p in range(topics.APPS.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        async with asyncio.timeout(catch_up_seconds):
            while await self._behind(consumer, ends):
                await self._read(consumer, 200)

    async def run(self, stopping: asyncio.Event) -> None:
        """Apply changes as they come until ``stopping`` is set."""
        consumer = self.consumer
        if consumer is None:
            raise RuntimeError("AppsFeed.run before start")
        try:
            while not stopping.is_set():
                await self._read(consumer, 250)
        finally:
            await consumer.stop()

    @staticmethod
    async def _behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
        for partition, end in ends.items():
            if await consumer.position(partition) < end:
                return True
        return False

    async def _read(self, consumer: AIOKafkaConsumer, timeout_ms: int) -> None:
        batches = await consumer.getmany(timeout_ms=timeout_ms)
        for records in batches.values():
            for record in records:
                try:
                    event = decode_as(topics.APPS, record.value, AppChanged)
                except DecodeError as error:
                    log.error(
                        "apps.changed offset %d unreadable, skipped: %s",
                        record.offset,
                        error.reason,
                    )
                    continue
                if self.directory.apply(event):
                    log.info("app %s now at revision %d", event.app_id, event.revision)
