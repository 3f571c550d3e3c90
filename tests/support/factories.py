"""Valid events with unique ids, for tests to tweak."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from contracts.base import derived_id
from contracts.content import Content
from contracts.notifications import NotificationSubmitted, UserNotification


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def user_notification(now: datetime, **fields: Any) -> UserNotification:
    notification_id = fields.pop("notification_id", uuid.uuid4())
    user_id = fields.pop("user_id", unique("user"))
    values: dict[str, Any] = {
        "event_id": derived_id(notification_id, user_id),
        "app_id": "testapp",
        "occurred_at": now,
        "notification_id": notification_id,
        "user_id": user_id,
        "content": Content(title="Hello", body="World"),
        "accepted_at": now,
    }
    values.update(fields)
    return UserNotification(**values)


def submitted(now: datetime, user_ids: list[str], **fields: Any) -> NotificationSubmitted:
    values: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "app_id": "testapp",
        "occurred_at": now,
        "idempotency_key": unique("key"),
        "audience": {"user_ids": user_ids},
        "content": {"title": "Hello", "body": "World"},
    }
    values.update(fields)
    return NotificationSubmitted.model_validate(values)
