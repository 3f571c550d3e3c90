"""Follows ``apps.changed`` into a service's AppDirectory, every replica reading everything from
the start (no consumer group), so no request meets a half-loaded directory; only records the
registry signed, and newer than the state held, change it: forged or replayed ones are logged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiokafka.structs import ConsumerRecord

from contracts import topics
from contracts.apps import AppChanged
from contracts.codec import DecodeError, decode_as
from shared.kafka.follower import TopicFollower
from shared.settings import KafkaSettings
from shared.tenancy.announcements import AppsSignature
from shared.tenancy.directory import AppDirectory

log = logging.getLogger(__name__)

#: Told of each refused record: the app its record key names, and the revision it carried when it
#: was genuine but older than the state held (None when it was not genuine at all).
RefusalListener = Callable[[str, int | None], None]


class AppsFeed:
    """Keeps one AppDirectory current."""

    def __init__(
        self,
        settings: KafkaSettings,
        directory: AppDirectory,
        client_id: str,
        *,
        on_refused: RefusalListener | None = None,
    ) -> None:
        self.directory = directory
        self.signature = AppsSignature(directory.box)
        self.on_refused = on_refused
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
        value: bytes = record.value or b""
        refusal = self.signature.refusal(value, record.headers)
        if refusal is not None:
            self._refuse(record, f"not announced by the registry: {refusal}", logging.ERROR)
            return
        try:
            event = decode_as(topics.APPS, record.value, AppChanged)
        except DecodeError as error:
            log.error("apps.changed offset %d unreadable, skipped: %s", record.offset, error.reason)
            return
        if record.key != topics.APPS.key_of(event):
            self._refuse(record, f"its record key does not name app {event.app_id}", logging.ERROR)
            return
        held = self.directory.revision(event.app_id)
        if self.directory.apply(event):
            log.info("app %s now at revision %d", event.app_id, event.revision)
        elif held is not None and event.revision < held:
            self._refuse(
                record,
                f"app {event.app_id} revision {event.revision} is older than the revision "
                f"{held} held (a replay, or a state compaction has not removed yet)",
                logging.WARNING,
                event.revision,
            )

    def _refuse(
        self, record: ConsumerRecord, reason: str, level: int, revision: int | None = None
    ) -> None:
        log.log(level, "apps.changed offset %d refused: %s", record.offset, reason)
        if self.on_refused is not None and record.key:
            self.on_refused(bytes(record.key).decode(errors="replace"), revision)
