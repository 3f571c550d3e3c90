"""Cancelling a notification over HTTP: ingest publishes the cancel, then answers with what the
scheduler reports on the cancel-results topic (or "pending" when no answer comes in time).

Annotations stay evaluated (no ``from __future__ import annotations``): FastAPI reads the route's
parameter types at definition time, and the auth dependency is a local of ``add_cancel_routes``.
"""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from aiokafka.structs import ConsumerRecord
from fastapi import Depends, FastAPI, Response
from pydantic import BaseModel

from contracts import topics
from contracts.codec import DecodeError, decode_as
from contracts.schedule import NotificationCancel, NotificationCancelResult
from services.ingest.store import SubmissionStore
from shared.clock import Clock
from shared.http import ApiError
from shared.kafka import Bus
from shared.kafka.follower import TopicFollower

log = logging.getLogger(__name__)


class CancelResults:
    """Reads every cancel result from the end of the topic, without a consumer group so that each
    ingest replica sees them all, and hands each to the request waiting for it."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.ready = asyncio.Event()
        self._waiting: dict[uuid.UUID, asyncio.Future[NotificationCancelResult]] = {}

    @contextlib.asynccontextmanager
    async def expecting(
        self, request_id: uuid.UUID
    ) -> AsyncIterator[asyncio.Future[NotificationCancelResult]]:
        """A future for the result of cancel ``request_id``; register before publishing it."""
        future: asyncio.Future[NotificationCancelResult] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiting[request_id] = future
        try:
            yield future
        finally:
            del self._waiting[request_id]

    async def run(self, stopping: asyncio.Event) -> None:
        """Listen until ``stopping`` is set; ``ready`` once every partition has a position."""
        follower = TopicFollower(
            self.bus.settings,
            topics.CANCEL_RESULTS,
            client_id="ingest-cancel-results",
            start_at="end",
        )
        await follower.start()
        self.ready.set()
        await follower.follow(self._deliver, stopping)

    def _deliver(self, record: ConsumerRecord) -> None:
        try:
            result = decode_as(topics.CANCEL_RESULTS, record.value, NotificationCancelResult)
        except DecodeError as error:
            log.warning("ignoring an unreadable cancel result: %s", error.reason)
            return
        future = self._waiting.get(result.request_event_id)
        if future is not None and not future.done():
            future.set_result(result)


class CancelAnswer(BaseModel):
    """What a cancel achieved; counts are per user and absent while the answer is pending."""

    notification_id: uuid.UUID
    status: Literal["cancelled", "partially_cancelled", "pending"]
    dropped: int | None = None
    released: int | None = None


ERRORS: dict[int | str, dict[str, Any]] = {
    202: {
        "model": CancelAnswer,
        "description": "The cancel is recorded and will apply; its result was not known in time "
        "(it appears on the cancel-results topic).",
    },
    401: {"description": "Missing or unknown API key."},
    404: {"description": "No notification with this id in this app."},
    409: {"description": "Too late: every copy had already been sent."},
}


def add_cancel_routes(
    app: FastAPI,
    store: SubmissionStore,
    bus: Bus,
    results: CancelResults,
    clock: Clock,
    authenticated_app: Any,
    *,
    reply_timeout: float,
) -> None:
    """Mount the cancel route on ``app``."""

    @app.post(
        "/v1/notifications/{notification_id}/cancel",
        response_model=CancelAnswer,
        responses=ERRORS,
        tags=["notifications"],
        summary="Cancel a notification: copies not sent yet never will be",
    )
    async def cancel_notification(
        notification_id: uuid.UUID,
        response: Response,
        app_id: Annotated[str, Depends(authenticated_app)],
    ) -> CancelAnswer:
        """Copies still held (scheduled, deferred by quiet hours, paced) are dropped, and copies
        still on their way to the scheduler too. A notification already sent to every user is
        too late (409); one sent to some users is partially cancelled."""
        if not await store.knows(app_id, notification_id):
            raise ApiError(
                404,
                "not_found",
                f"no notification {notification_id} in this app",
                field="notification_id",
            )
        cancel = NotificationCancel(
            event_id=uuid.uuid4(),
            app_id=app_id,
            occurred_at=clock.now(),
            notification_id=notification_id,
        )
        async with results.expecting(cancel.event_id) as answer:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(results.ready.wait(), reply_timeout)
            await bus.publish(topics.CANCEL, cancel)
            try:
                result = await asyncio.wait_for(answer, reply_timeout)
            except TimeoutError:
                response.status_code = 202
                return CancelAnswer(notification_id=notification_id, status="pending")
        if result.outcome == "too_late":
            raise ApiError(
                409,
                "too_late",
                f"notification {notification_id} was already sent to {result.released} "
                "user(s); nothing was left to cancel",
                field="notification_id",
            )
        return CancelAnswer(
            notification_id=notification_id,
            status=result.outcome,
            dropped=result.dropped,
            released=result.released,
        )
