"""Follows ``apps.changed`` into a service's AppDirectory, every replica reading everything.

No consumer group: each replica needs every app, so it reads every partition from the start.
``start`` returns once the directory has caught up with what was published before it, so a service
never answers a request with a half-loaded directory.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka.structs import ConsumerRecord

from contracts import topics
from contracts.apps import AppChanged
from contracts.codec import DecodeError, decode_as
from shared.kafka.follower import TopicFollower
from shared.settings import KafkaSettings
from shared.tenancy.directory import AppDirectory

log = logging.getLogger(__name__)


class AppsFeed:
    """Keeps one AppDirectory current."""

    def __init__(self, settings: KafkaSettings, directory: AppDirectory, client_id: str) -> None:
        self.directory = directory
        self.follower = TopicFollower(settings, topics.APPS, client_id=f"{client_id}-apps")

    async def start(self, catch_up_seconds: float = 30.0) -> None:
        """Read everything already published, then return; the rest follows in ``run``."""
        await self.follower.start()
        try:
            async with asyncio.timeout(catch_up_seconds):
                await self.follower.catch_up(self._apply)
        except BaseException:
            await self.follower.stop()
            raise

    async def run(self, stopping: asyncio.Event) -> None:
        """Apply changes as they come until ``stopping`` is set."""
        await self.follower.follow(self._apply, stopping)

    def _apply(self, record: ConsumerRecord) -> None:
        try:
            event = decode_as(topics.APPS, record.value, AppChanged)
        except DecodeError as error:
            log.error("apps.changed offset %d unreadable, skipped: %s", record.offset, error.reason)
            return
        if self.directory.apply(event):
            log.info("app %s now at revision %d", event.app_id, event.revision)
