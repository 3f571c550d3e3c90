"""Accepting a send request: the one path both the HTTP API and the Kafka intake go through."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from contracts import topics
from contracts.base import Model
from contracts.categories import Category, CategoryRules
from contracts.content import NotificationRequest
from contracts.topics import Topic
from services.ingest import domain
from services.ingest.identity import NotificationIds
from services.ingest.store import Submission, SubmissionStore
from shared.clock import Clock
from shared.kafka import Bus
from shared.kafka.tracing import continuing


class IdempotencyConflict(Exception):
    """The idempotency key was used before with a different request."""

    def __init__(self, idempotency_key: str, notification_id: uuid.UUID) -> None:
        super().__init__(
            f"idempotency_key {idempotency_key!r} was already used for notification "
            f"{notification_id} with a different request body"
        )
        self.notification_id = notification_id


@dataclass(frozen=True)
class Acceptance:
    """What the sender is told: the notification id, how many users (None: streamed by the
    registry), whether it is a replay."""

    notification_id: uuid.UUID
    recipients: int | None
    accepted_at: datetime
    replayed: bool


#: The app's definition of a category, by app id and category id (the AppDirectory's).
CategoryLookup = Callable[[str, str], Category | None]


class Acceptor:
    """Validates, dedupes on (app, idempotency key) and expands a request into per-user events."""

    def __init__(
        self,
        store: SubmissionStore,
        bus: Bus,
        clock: Clock,
        ids: NotificationIds,
        *,
        max_content_bytes: int,
        categories: CategoryLookup,
    ) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self.ids = ids
        self.max_content_bytes = max_content_bytes
        self.categories = categories

    async def accept(
        self, app_id: str, request: NotificationRequest, source: Literal["http", "kafka"]
    ) -> Acceptance:
        """Accept ``request`` for ``app_id``; raises RequestProblem or IdempotencyConflict.

        Returns only after every per-user event is acknowledged by the broker. The events continue
        the trace of ``request`` when it is a consumed record, else the current one (HTTP's).
        The ``accepted`` trace step goes out with the per-user events, so a resend of a
        notification already published repeats neither; a re-run after a crash before the ledger
        marked it published repeats both, under the same event ids.
        """
        domain.check(request, max_content_bytes=self.max_content_bytes)
        now = self.clock.now()
        notification_id = self.ids.of(app_id, request.idempotency_key)
        try:
            domain.check_timing(request, now)
            rules = domain.category_rules(
                request, self.categories(app_id, request.category) if request.category else None
            )
        except domain.RequestProblem:
            if await self.store.notification_of(app_id, request.idempotency_key) is None:
                raise
            rules = None
        fingerprint = domain.fingerprint(request)
        submission = await self.store.claim(
            app_id=app_id,
            idempotency_key=request.idempotency_key,
            fingerprint=fingerprint,
            notification_id=notification_id,
            recipients=domain.recipients(request),
            source=source,
            now=now,
        )
        if submission.fingerprint != fingerprint:
            raise IdempotencyConflict(request.idempotency_key, submission.notification_id)
        if not submission.published:
            await self._publish(app_id, request, submission, now, rules)
            await self.store.mark_published(app_id, request.idempotency_key, self.clock.now())
        return Acceptance(
            notification_id=submission.notification_id,
            recipients=submission.recipients,
            accepted_at=submission.accepted_at,
            replayed=not submission.created,
        )

    async def _publish(
        self,
        app_id: str,
        request: NotificationRequest,
        submission: Submission,
        now: datetime,
        rules: CategoryRules | None,
    ) -> None:
        """The accepted step with one event per user, or (a streamed audience) with the one
        event the registry streams the audience from."""
        notification, accepted_at = submission.notification_id, submission.accepted_at
        events: list[tuple[Topic, Model]] = [
            (topics.TRACE, domain.accepted_trace(app_id, request, notification, accepted_at))
        ]
        if request.audience.streamed:
            event = domain.audience_event(app_id, request, notification, accepted_at, now, rules)
            events.append((topics.AUDIENCE, event))
        else:
            expanded = domain.expand(app_id, request, notification, accepted_at, now, rules)
            events.extend((topics.USER, event) for event in expanded)
        with continuing(request):
            await self.bus.publish_all(events)
