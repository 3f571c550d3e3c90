"""Per-device deliveries handed to a platform's dispatcher, and what came of them."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, Field

from contracts.base import Event, UserId
from contracts.content import Content, DeliveryOptions

Platform = Literal["apns", "fcm", "webpush"]
PLATFORMS: tuple[Platform, ...] = ("apns", "fcm", "webpush")

Outcome = Literal["delivered", "token_invalid", "failed", "expired"]


class PushRequest(Event):
    """Deliver one notification to one device; keyed by device id so its pushes keep order."""

    type: Literal["push.request"] = "push.request"
    version: Literal[1] = 1
    notification_id: uuid.UUID
    user_id: UserId
    device_id: uuid.UUID
    platform: Platform
    token: str = Field(min_length=1, max_length=4096)
    content: Content
    options: DeliveryOptions = Field(default_factory=DeliveryOptions)
    badge: int | None = Field(default=None, ge=0)
    badge_seq: int | None = Field(default=None, ge=0)
    accepted_at: AwareDatetime


class PushResult(Event):
    """The final outcome of one push request, after any retries.

    ``token_invalid`` tells the registry to deactivate the device's token; ``invalid_since`` is the
    provider's own time for that verdict when it gives one (APNs does).
    """

    type: Literal["push.result"] = "push.result"
    version: Literal[1] = 1
    request_event_id: uuid.UUID
    notification_id: uuid.UUID
    user_id: UserId
    device_id: uuid.UUID
    platform: Platform
    token: str
    outcome: Outcome
    reason: str | None = None
    provider_status: int | None = None
    provider_message_id: str | None = None
    invalid_since: AwareDatetime | None = None
    attempts: int = Field(ge=0, description="Requests made; 0 when it expired before the first.")
    accepted_at: AwareDatetime
