"""Streams each notification's audience: pages of matching devices become per-user events.

Memory holds one page (``page_users`` users and their matching devices) at a time, whatever the
audience's size. A page is published, and acknowledged, before its progress is recorded and the
next is read. An audience streams in turns of ``pages_per_turn`` pages: one not all out after its
turn is published again at the end of ``notifications.audience`` (once acknowledged, the offset
is committed), so the audiences behind it, of every app, take their turn before its next one;
a million-device broadcast delays another app's topic send by one turn, not by its whole stream.
A stream cut short (a crash, a failed publish) resumes after the last recorded page, so at most
one page goes out twice, under the same event ids, which the scheduler drops as repeats; a
finished stream delivered again publishes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from contracts import topics
from contracts.base import Model
from contracts.notifications import NotificationAudience
from contracts.topics import Topic
from services.registry import metrics
from services.registry.audiences import domain, matching
from services.registry.audiences.domain import Progress
from services.registry.audiences.store import AudienceStore
from shared.clock import Clock
from shared.kafka import Publisher, Received, Rejection

log = logging.getLogger(__name__)


class AudienceHandler:
    """Publishes one ``notification.user`` per user with a matching device, restricted to the
    user's matching devices, a page of users at a time and ``pages_per_turn`` pages a turn."""

    def __init__(
        self,
        store: AudienceStore,
        bus: Publisher,
        clock: Clock,
        *,
        page_users: int,
        pages_per_turn: int,
    ) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self.page_users = page_users
        self.pages_per_turn = pages_per_turn

    async def __call__(
        self, batch: Sequence[Received[NotificationAudience]]
    ) -> Sequence[Rejection]:
        for item in batch:
            await self.take_turn(item.message)
        return ()

    async def take_turn(self, audience: NotificationAudience) -> Progress:
        """Stream the audience's next pages, at most ``pages_per_turn``; when it is not all out
        then, publish it again for its next turn. Its progress after the turn."""
        progress = await self.store.progress(audience.notification_id)
        if progress.finished:
            return progress
        now = self.clock.now()
        match = matching.predicate(audience.audience, now)
        for _ in range(self.pages_per_turn):
            page = await self.store.page(
                audience.app_id, match, after=progress.after, users=self.page_users
            )
            events = domain.user_events(audience, page, now)
            progress = progress.then(page, len(events), self.page_users)
            output: list[tuple[Topic, Model]] = [(topics.USER, event) for event in events]
            if progress.finished:
                output.append((topics.TRACE, domain.targeted(audience, progress, now)))
            await self.bus.publish_all(output)
            await self.store.advance(audience.app_id, audience.notification_id, progress, now)
            metrics.AUDIENCE_USERS.labels(kind=audience.audience.kind).inc(len(events))
            if progress.finished:
                log.info(
                    "notification %s of app %s: %s audience streamed to %d users (%d devices)",
                    audience.notification_id,
                    audience.app_id,
                    audience.audience.kind,
                    progress.users,
                    progress.devices,
                )
                return progress
        await self.bus.publish_all([(topics.AUDIENCE, audience)])
        return progress
