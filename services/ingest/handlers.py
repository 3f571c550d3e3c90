"""The Kafka intake: submitted events go through the same Acceptor as HTTP requests, and cancel
requests become the cancels the scheduler acts on. Each record counts as its app's only when one
of the app's intake keys signed it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from contracts import topics
from contracts.notifications import NotificationSubmitted
from contracts.schedule import NotificationCancel, NotificationCancelRequested
from services.ingest import metrics
from services.ingest.acceptance import Acceptor, IdempotencyConflict
from services.ingest.domain import RequestProblem
from services.ingest.identity import NotificationIds
from services.ingest.intake_auth import IntakeAuth
from services.ingest.store import SubmissionStore
from shared.clock import Clock
from shared.kafka import Bus, Received, Rejection


class SubmittedHandler:
    """Accepts each submitted event; refusals become rejections with the reason."""

    def __init__(self, acceptor: Acceptor, auth: IntakeAuth) -> None:
        self.acceptor = acceptor
        self.auth = auth

    async def __call__(
        self, batch: Sequence[Received[NotificationSubmitted]]
    ) -> Sequence[Rejection]:
        rejections: list[Rejection] = []
        for item in batch:
            refusal = self.auth.refusal(item.message.app_id, item.value, item.headers)
            if refusal is not None:
                metrics.rejected("kafka", "unsigned")
                rejections.append(Rejection(item, refusal))
                continue
            try:
                acceptance = await self.acceptor.accept(
                    item.message.app_id, item.message, source="kafka"
                )
            except RequestProblem as problem:
                metrics.rejected("kafka", "invalid_request")
                rejections.append(Rejection(item, str(problem)))
            except IdempotencyConflict as conflict:
                metrics.rejected("kafka", "idempotency_conflict")
                rejections.append(Rejection(item, str(conflict)))
            else:
                metrics.accepted("kafka", replayed=acceptance.replayed)
        return rejections


class CancelRequestHandler:
    """Turns each signed cancel request into a cancel of the signing app's own notification.

    Named by idempotency key, the notification is looked up in the app's ledger, or (not sent
    yet) its id is derived, so the cancel still stops it when it comes; named by id, it must be one
    the app sent. Either way no other app's notification can be reached.
    """

    def __init__(
        self,
        store: SubmissionStore,
        ids: NotificationIds,
        auth: IntakeAuth,
        bus: Bus,
        clock: Clock,
    ) -> None:
        self.store = store
        self.ids = ids
        self.auth = auth
        self.bus = bus
        self.clock = clock

    async def __call__(
        self, batch: Sequence[Received[NotificationCancelRequested]]
    ) -> Sequence[Rejection]:
        rejections: list[Rejection] = []
        cancels: list[NotificationCancel] = []
        for item in batch:
            request = item.message
            refusal = self.auth.refusal(request.app_id, item.value, item.headers)
            if refusal is not None:
                rejections.append(Rejection(item, refusal))
                continue
            target = await self._target(request)
            if target is None:
                rejections.append(
                    Rejection(
                        item,
                        f"notification_id: no notification {request.notification_id} in app "
                        f"{request.app_id!r}",
                    )
                )
                continue
            cancels.append(
                NotificationCancel(
                    event_id=request.event_id,
                    app_id=request.app_id,
                    occurred_at=self.clock.now(),
                    notification_id=target,
                )
            )
        await self.bus.publish_all((topics.CANCEL, cancel) for cancel in cancels)
        return rejections

    async def _target(self, request: NotificationCancelRequested) -> uuid.UUID | None:
        """The notification the request names within its app; None for an id it never sent."""
        if request.idempotency_key is not None:
            sent = await self.store.notification_of(request.app_id, request.idempotency_key)
            return sent or self.ids.of(request.app_id, request.idempotency_key)
        if request.notification_id is not None and await self.store.knows(
            request.app_id, request.notification_id
        ):
            return request.notification_id
        return None
