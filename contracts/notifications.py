"""Events of a notification's journey from a sender to the per-device fan-out."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, ConfigDict, Field

from contracts.audiences import Audience
from contracts.base import Event, InternalEvent, InternalMessage, Model, UserId
from contracts.categories import CategoryId, CategoryRules
from contracts.content import Content, DeliveryOptions, NotificationRequest
from contracts.platforms import Platform
from contracts.schedule import Schedule


class NotificationSubmitted(NotificationRequest, Event):
    """A product team's send request published to Kafka (the HTTP API takes the same body)."""

    type: Literal["notification.submitted"] = "notification.submitted"
    version: Literal[1] = 1


class SourceHeader(Model):
    """One record header as the producer set it (a name may repeat; a value may be null)."""

    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    name: str
    value: bytes | None = None


class SourceRecord(Model):
    """Where a message that could not be processed came from, with its original bytes.

    Bytes travel as base64 in JSON and are plain bytes in Python. ``headers`` are the record's
    own, in order, so a replayed record carries what its readers check (an intake signature).
    """

    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    topic: str
    partition: int
    offset: int
    key: bytes | None = None
    value: bytes
    headers: tuple[SourceHeader, ...] = Field(
        default=(),
        description="The record's headers; empty in dead letters parked before they were kept.",
    )


class NotificationRejected(InternalMessage):
    """A submitted event Herald refused, with the reason, so the sender can find and fix it.

    ``app_id`` and ``idempotency_key`` are copied when they could be read from the input.
    """

    type: Literal["notification.rejected"] = "notification.rejected"
    version: Literal[1] = 1
    event_id: uuid.UUID
    occurred_at: AwareDatetime
    app_id: str | None = None
    idempotency_key: str | None = None
    reason: str
    source: SourceRecord


class UserNotificationFields(InternalEvent):
    """What every per-user stage carries: the notification, its recipient, when it was accepted."""

    notification_id: uuid.UUID
    user_id: UserId
    content: Content
    options: DeliveryOptions = Field(default_factory=DeliveryOptions)
    accepted_at: AwareDatetime = Field(description="When ingest accepted the notification.")
    category: CategoryId | None = Field(
        default=None, description="The app's category the sender named, if any."
    )
    transactional: bool = Field(
        default=False, description="Sent despite the user's opt-outs and the category's cap."
    )
    device_ids: list[uuid.UUID] | None = Field(
        default=None,
        description="Only these devices of the user (those a device, topic, all or segment "
        "audience matched); None: every active device of the user. Every stage carries it "
        "unchanged to the registry's fan-out.",
    )


class UserNotification(UserNotificationFields):
    """One notification for one user, before scheduling."""

    type: Literal["notification.user"] = "notification.user"
    version: Literal[1] = 1
    schedule: Schedule | None = None
    category_rules: CategoryRules | None = Field(
        default=None,
        description="The category's default and frequency cap when ingest accepted the request.",
    )


class NotificationAudience(InternalEvent):
    """A notification whose recipients the registry finds: one event per notification, whatever
    the audience's size. The registry streams the matching devices and publishes one
    ``notification.user`` per user, restricted to that user's matching devices."""

    type: Literal["notification.audience"] = "notification.audience"
    version: Literal[1] = 1
    notification_id: uuid.UUID
    audience: Audience
    content: Content
    options: DeliveryOptions = Field(default_factory=DeliveryOptions)
    accepted_at: AwareDatetime = Field(description="When ingest accepted the notification.")
    schedule: Schedule | None = None
    category: CategoryId | None = None
    transactional: bool = False
    category_rules: CategoryRules | None = None


class NotificationDue(UserNotificationFields):
    """A notification the scheduler released: it should go out now.

    ``due_at`` is when the scheduler released it. When the notification has a deadline,
    ``options.ttl_seconds`` counts from ``accepted_at`` to that deadline.
    """

    type: Literal["notification.due"] = "notification.due"
    version: Literal[1] = 1
    due_at: AwareDatetime


class NotificationCounted(UserNotificationFields):
    """A due notification with the user's badge attached, ready to fan out to devices.

    ``badge`` is None when the push leaves the badge alone (silent pushes); ``badge_seq`` orders
    badge values per user so a device can ignore a stale one.
    """

    type: Literal["notification.counted"] = "notification.counted"
    version: Literal[1] = 1
    due_at: AwareDatetime
    badge: int | None = Field(default=None, ge=0)
    badge_seq: int | None = Field(default=None, ge=0)


WithholdReason = Literal["category_opt_out", "frequency_cap", "channel_opt_out"]


class NotificationWithheld(InternalEvent):
    """A user's push Herald chose not to send, and why.

    ``category_opt_out`` and ``frequency_cap`` come from the scheduler and withhold the user's
    whole copy; ``channel_opt_out`` comes from the registry at fan-out and names the platforms
    whose devices were left out.
    """

    type: Literal["notification.withheld"] = "notification.withheld"
    version: Literal[1] = 1
    notification_id: uuid.UUID
    user_id: UserId
    reason: WithholdReason
    category: CategoryId | None = None
    platforms: list[Platform] = Field(
        default_factory=list, description="For channel_opt_out: the platforms left out."
    )
