"""Badge-count's steps in a notification's trace: a user's copy counted (with the badge it
carries on), or withheld because the user read it before it came due.

Pure. Ids derive from the notification, the step and the user, so a batch run again after a crash
repeats them.
"""

from __future__ import annotations

from datetime import datetime

from contracts.notifications import NotificationCounted, NotificationDue
from contracts.trace import NotificationTraced

#: The reason of a copy badge-count drops because a read of it (by id, or a watermark past its
#: due time) arrived first.
READ_ALREADY = "read_already"


def counted(event: NotificationCounted) -> NotificationTraced:
    """The copy went on to fan-out with ``badge`` (None: the device's badge is left alone)."""
    return NotificationTraced.step(
        "counted",
        app_id=event.app_id,
        notification_id=event.notification_id,
        occurred_at=event.occurred_at,
        user_id=event.user_id,
        badge=event.badge,
    )


def read_already(due: NotificationDue, now: datetime) -> NotificationTraced:
    """The copy was not pushed: the user had read it before it came due."""
    return NotificationTraced.step(
        "withheld",
        app_id=due.app_id,
        notification_id=due.notification_id,
        occurred_at=now,
        user_id=due.user_id,
        reason=READ_ALREADY,
        category=due.category,
    )
