"""When a notification is due. Pure: the caller passes the current time."""

from __future__ import annotations

from datetime import datetime

from contracts.base import derived_id
from contracts.notifications import NotificationDue, UserNotification


def release(notification: UserNotification, now: datetime) -> NotificationDue:
    """The due event for a notification that should go out now.

    Its id derives from the incoming event's, so releasing twice yields one id downstream.
    """
    return NotificationDue(
        event_id=derived_id(notification.event_id, "due"),
        app_id=notification.app_id,
        occurred_at=now,
        notification_id=notification.notification_id,
        user_id=notification.user_id,
        content=notification.content,
        options=notification.options,
        accepted_at=notification.accepted_at,
        due_at=now,
    )
