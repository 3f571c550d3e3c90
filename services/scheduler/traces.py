"""The scheduler's steps in a notification's trace: each user's copy held, then released, expired,
withheld or cancelled.

Pure. Each step's event id derives from the notification, the step and the user, so a batch run
again after a crash repeats the same ids.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from contracts.notifications import NotificationDue, NotificationWithheld, UserNotification
from contracts.schedule import NotificationExpired
from contracts.trace import NotificationTraced, Stage
from services.scheduler.domain import HoldReason


def held(
    notification: UserNotification, reason: HoldReason, until: datetime, now: datetime
) -> NotificationTraced:
    """A copy taken in to go out at ``until``, and what decided that time."""
    return NotificationTraced.step(
        "held",
        app_id=notification.app_id,
        notification_id=notification.notification_id,
        occurred_at=now,
        user_id=notification.user_id,
        reason=reason,
        until=until,
    )


def settled(
    event: NotificationDue | NotificationExpired | NotificationWithheld,
) -> NotificationTraced:
    """The step a settled copy's event reports: released, expired, or withheld with the reason
    and category (the same facts ``notifications.withheld`` carries)."""
    withheld = event if isinstance(event, NotificationWithheld) else None
    stage: Stage = "withheld"
    if isinstance(event, NotificationDue):
        stage = "released"
    elif isinstance(event, NotificationExpired):
        stage = "expired"
    return NotificationTraced.step(
        stage,
        app_id=event.app_id,
        notification_id=event.notification_id,
        occurred_at=event.occurred_at,
        user_id=event.user_id,
        reason=withheld.reason if withheld else None,
        category=withheld.category if withheld else None,
    )


def cancelled(
    app_id: str, notification_id: uuid.UUID, user_id: str, at: datetime
) -> NotificationTraced:
    """A user's copy a cancel dropped (held, or arriving after the cancel), at the time it was."""
    return NotificationTraced.step(
        "cancelled",
        app_id=app_id,
        notification_id=notification_id,
        occurred_at=at,
        user_id=user_id,
    )
