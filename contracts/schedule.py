"""When a notification should go out, and what the scheduler reports back: cancels and expiries.

A sender attaches a Schedule to a request; cancels travel as events so they work over Kafka as well
as over HTTP (a sender's own signed request, which ingest turns into the cancel the scheduler
trusts), and every copy the scheduler drops for lateness is reported, never silently lost.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    Field,
    NaiveDatetime,
    StringConstraints,
    model_validator,
)

from contracts.base import Event, InternalEvent, Model, PublicRequest, UserId
from contracts.users import TimeZoneName


class Schedule(Model):
    """When to send: now (the default), at an instant, or at a wall-clock time per user.

    Each user's quiet hours defer a push that is not ``urgent`` to the end of the window; a copy
    that cannot go out before ``expires_at`` (or the TTL, counted from the time asked for) is
    dropped and reported on the expired topic.
    """

    send_at: AwareDatetime | None = Field(
        default=None, description="Send at this instant (with a UTC offset)."
    )
    local_time: NaiveDatetime | None = Field(
        default=None,
        description="Send at this wall-clock time in each user's own time zone, without an "
        "offset, such as 2026-03-09T09:00:00.",
    )
    time_zone: TimeZoneName | None = Field(
        default=None,
        description="The zone of local_time for users whose time zone Herald does not know; "
        "UTC when absent.",
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="Never send after this instant; later copies are dropped."
    )
    urgent: bool = Field(default=False, description="Send even inside the user's quiet hours.")
    rate_per_minute: Annotated[int, Field(ge=1, le=1_000_000)] | None = Field(
        default=None,
        description="Spread the send: at most this many users per minute for each send time.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Schedule:
        if self.send_at is not None and self.local_time is not None:
            raise ValueError("give send_at or local_time, not both")
        if self.time_zone is not None and self.local_time is None:
            raise ValueError("time_zone applies to local_time only")
        if self.send_at and self.expires_at and self.expires_at <= self.send_at:
            raise ValueError("expires_at must be later than send_at")
        return self


class NotificationCancelRequested(Event, PublicRequest):
    """A sender asks, over Kafka, to cancel one of its notifications, named by the idempotency key
    it was sent with or by its id; the record is signed with one of the app's intake keys.

    Ingest checks the signature, finds the notification within the signing app only, and passes
    the cancel on (its ``event_id`` becomes the ``request_event_id`` of the result). Fields it does
    not know are refused, so a misspelt name is an error rather than a cancel of nothing.
    """

    type: Literal["notification.cancel_requested"] = "notification.cancel_requested"
    version: Literal[1] = 1
    idempotency_key: (
        Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
        | None
    ) = Field(default=None, description="The idempotency key the notification was sent with.")
    notification_id: uuid.UUID | None = Field(
        default=None, description="The notification's id, as an HTTP send answered it."
    )

    @model_validator(mode="after")
    def _one_name(self) -> NotificationCancelRequested:
        if (self.idempotency_key is None) == (self.notification_id is None):
            raise ValueError("give idempotency_key or notification_id (one of them)")
        return self


class NotificationCancel(InternalEvent):
    """Stop a notification: copies still held are dropped, and so are copies that arrive later.

    Only ingest publishes these, for an app whose caller it authenticated.
    """

    type: Literal["notification.cancel"] = "notification.cancel"
    version: Literal[1] = 1
    notification_id: uuid.UUID


CancelOutcome = Literal["cancelled", "partially_cancelled", "too_late"]


class NotificationCancelResult(InternalEvent):
    """What a cancel achieved, counted over every user's copy the scheduler has seen.

    ``cancelled``: nothing had been sent. ``partially_cancelled``: some users already had it, the
    rest never will. ``too_late``: it had been sent and nothing was left to stop.
    """

    type: Literal["notification.cancel_result"] = "notification.cancel_result"
    version: Literal[1] = 1
    request_event_id: uuid.UUID = Field(description="The event_id of the cancel answered.")
    notification_id: uuid.UUID
    outcome: CancelOutcome
    dropped: int = Field(ge=0, description="Users' copies that will never be sent.")
    released: int = Field(ge=0, description="Users' copies sent before the cancel.")


class NotificationExpired(InternalEvent):
    """One user's copy dropped because it could no longer go out before its deadline."""

    type: Literal["notification.expired"] = "notification.expired"
    version: Literal[1] = 1
    notification_id: uuid.UUID
    user_id: UserId
    planned_at: AwareDatetime = Field(
        description="When it would have gone out (after quiet hours and pacing)."
    )
    deadline: AwareDatetime = Field(description="The last moment it was still worth sending.")
