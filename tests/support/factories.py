"""Valid events and values with unique ids, for tests to tweak."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, overload

from contracts.base import derived_id
from contracts.content import Content
from contracts.notifications import NotificationDue, NotificationSubmitted, UserNotification
from contracts.push import Platform, PushRequest
from services.registry.devices.domain import Device

#: A token the registry's FCM rules accept.
FCM_TOKEN = "dXk1" * 10 + ":APA91b" + "x" * 100


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


def due(now: datetime, user_id: str, **fields: Any) -> NotificationDue:
    """A notification due now for ``user_id``; ``fields`` override the user notification's."""
    base = user_notification(now, user_id=user_id, **fields)
    return NotificationDue(
        **base.model_dump(exclude={"type", "version", "event_id"}),
        event_id=derived_id(base.event_id, "due"),
        due_at=now,
    )


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


def device(now: datetime, **fields: Any) -> Device:
    """An active FCM device of user alice in app "app", registered at ``now``."""
    values: dict[str, Any] = {
        "device_id": uuid.uuid4(),
        "app_id": "app",
        "user_id": "alice",
        "platform": "fcm",
        "token": FCM_TOKEN,
        "locale": None,
        "time_zone": None,
        "app_version": None,
        "active": True,
        "created_at": now,
        "updated_at": now,
        "last_registered_at": now,
        "last_success_at": None,
        "deactivated_at": None,
        "deactivation_reason": None,
    }
    values.update(fields)
    return Device(**values)


def apns_token() -> str:
    """A unique 32-byte APNs device token in hex."""
    return uuid.uuid4().hex + uuid.uuid4().hex


@overload
def push_request(
    now: datetime, platform: Literal["apns", "fcm"], token: str | None = None, **fields: Any
) -> PushRequest: ...


@overload
def push_request(now: datetime, platform: Platform, token: str, **fields: Any) -> PushRequest: ...


def push_request(
    now: datetime, platform: Platform, token: str | None = None, **fields: Any
) -> PushRequest:
    """A visible push to one device, accepted at ``now``; ``fields`` override anything. APNs and
    FCM devices get a fresh token; a Web Push one is a subscription, so the test passes it."""
    notification_id = fields.pop("notification_id", uuid.uuid4())
    device_id = fields.pop("device_id", uuid.uuid4())
    if token is None:
        token = apns_token() if platform == "apns" else f"{platform}-token-{uuid.uuid4().hex}"
    values: dict[str, Any] = {
        "event_id": derived_id(notification_id, device_id),
        "app_id": "testapp",
        "occurred_at": now,
        "notification_id": notification_id,
        "user_id": "user-1",
        "device_id": device_id,
        "platform": platform,
        "token": token,
        "content": {"title": "Hello", "body": "World"},
        "accepted_at": now,
    }
    values.update(fields)
    return PushRequest.model_validate(values)
