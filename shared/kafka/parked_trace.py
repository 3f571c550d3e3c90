"""The ``parked`` step of a notification's trace: a consumer that parks a message naming a
notification says so on the trace topic, so the timeline ends with the reason instead of silence.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from contracts.base import Model
from contracts.push import PLATFORMS
from contracts.topics import TRACE, Topic
from contracts.trace import NotificationTraced


def parked_step(
    message: Model, topic: Topic, reason: str, at: datetime
) -> NotificationTraced | None:
    """The trace event for parking ``message`` read from ``topic``, or None when it names no
    notification. A badge-sync push names a burst of reads, not a notification. Trace events
    themselves are never traced: one the tracker parks would come back to it as another."""
    if topic.name == TRACE.name or getattr(message, "sync", None) is not None:
        return None
    notification_id = getattr(message, "notification_id", None)
    app_id = getattr(message, "app_id", None)
    if not isinstance(notification_id, uuid.UUID) or not isinstance(app_id, str):
        return None
    user_id = getattr(message, "user_id", None)
    device_id = getattr(message, "device_id", None)
    fields: dict[str, object] = {"reason": reason}
    platform = getattr(message, "platform", None)
    if platform in PLATFORMS:
        fields["platform"] = platform
    attempt = getattr(message, "attempt", None)
    if isinstance(attempt, int):
        fields["attempt"] = attempt
    return NotificationTraced.step(
        "parked",
        app_id=app_id,
        notification_id=notification_id,
        occurred_at=at,
        user_id=user_id if isinstance(user_id, str) else None,
        device_id=device_id if isinstance(device_id, uuid.UUID) else None,
        **fields,
    )
