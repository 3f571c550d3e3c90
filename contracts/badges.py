"""Reads reported by devices and the badge changes they cause."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from contracts.base import InternalEvent, UserId


class ReadsReported(InternalEvent):
    """A device says the user read notifications: these ids, everything up to a time, or all."""

    type: Literal["reads.reported"] = "reads.reported"
    version: Literal[1] = 1
    user_id: UserId
    device_id: uuid.UUID | None = None
    notification_ids: Annotated[list[uuid.UUID], Field(max_length=500)] = Field(
        default_factory=list
    )
    up_to: AwareDatetime | None = Field(
        default=None, description="Everything accepted at or before this time is read."
    )
    all: bool = False


class BadgeChanged(InternalEvent):
    """Reads changed what a user has unread; the registry syncs the user's other devices.

    ``read_notification_ids`` are the notifications newly read by this change; ``read_up_to`` and
    ``all_read`` repeat a watermark or mark-all report so devices clear those too.
    """

    type: Literal["badge.changed"] = "badge.changed"
    version: Literal[1] = 1
    user_id: UserId
    badge: int = Field(ge=0)
    badge_seq: int = Field(ge=0)
    read_notification_ids: list[uuid.UUID] = Field(default_factory=list)
    read_up_to: AwareDatetime | None = None
    all_read: bool = False
    reported_by_device: uuid.UUID | None = None
