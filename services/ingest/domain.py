"""Ingest's rules: what a valid request is, what makes two requests the same, how it fans out.

Pure functions: no I/O, the time is passed in.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import datetime

from contracts.base import derived_id
from contracts.content import NotificationRequest
from contracts.notifications import UserNotification


class RequestProblem(ValueError):
    """A request Herald refuses; ``field`` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def check(request: NotificationRequest, *, max_content_bytes: int) -> None:
    """Rules beyond the per-field limits of the model; raise RequestProblem on the first broken."""
    size = len(request.content.model_dump_json(exclude_none=True).encode())
    if size > max_content_bytes:
        raise RequestProblem(
            "content",
            f"{size} bytes when serialized; the limit is {max_content_bytes} bytes "
            "(providers refuse larger payloads)",
        )
    if not request.content.visible and not request.content.data:
        raise RequestProblem("content", "needs a title or body, or data for a silent push")


def fingerprint(request: NotificationRequest) -> bytes:
    """A digest of what was asked, so a replay with a different body is told apart.

    Only the request's own fields count: the same request sent over HTTP or as an event (with its
    own event id and timestamp) has the same fingerprint. The schedule counts only when given, so
    requests recorded before scheduling existed keep their fingerprint.
    """
    fields = {"audience", "content", "options"} | ({"schedule"} if request.schedule else set())
    canonical = request.model_dump_json(include=fields).encode()
    return hashlib.sha256(canonical).digest()


def notification_id(app_id: str, idempotency_key: str) -> uuid.UUID:
    """The notification's id follows from its idempotency key: a replay names the same one."""
    return derived_id("notification", app_id, idempotency_key)


def expand(
    app_id: str,
    request: NotificationRequest,
    notification: uuid.UUID,
    accepted_at: datetime,
    now: datetime,
) -> Iterator[UserNotification]:
    """One event per recipient; ids derive from (notification, user) so re-publishing dedupes."""
    for user_id in request.audience.user_ids:
        yield UserNotification(
            event_id=derived_id(notification, user_id),
            app_id=app_id,
            occurred_at=now,
            notification_id=notification,
            user_id=user_id,
            content=request.content,
            options=request.options,
            accepted_at=accepted_at,
            schedule=request.schedule,
        )
