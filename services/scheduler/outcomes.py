"""What the scheduler publishes when it settles a copy (due, expired, withheld) or answers a cancel.

Pure. Event ids derive from the events they answer, so publishing again after a crash yields the
same ids and consumers recognise the repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contracts.base import derived_id
from contracts.content import DeliveryOptions
from contracts.notifications import (
    NotificationDue,
    NotificationWithheld,
    UserNotification,
    WithholdReason,
)
from contracts.schedule import (
    CancelOutcome,
    NotificationCancel,
    NotificationCancelResult,
    NotificationExpired,
)

#: The longest TTL a provider accepts (28 days), the ceiling of DeliveryOptions.ttl_seconds.
MAX_TTL_SECONDS = 2_419_200


@dataclass(frozen=True)
class HeldCopy:
    """A claimed copy: the event as it arrived and its plan."""

    notification: UserNotification
    release_at: datetime
    deadline: datetime | None


def settle(copy: HeldCopy, now: datetime) -> NotificationDue | NotificationExpired:
    """The copy's due event, or its expiry when it cannot go out before its deadline (the
    deadline has come, or the plan already put its release at or past it)."""
    if copy.deadline is not None and max(now, copy.release_at) >= copy.deadline:
        return expired(copy, now)
    return due(copy, now)


def options_until(notification: UserNotification, deadline: datetime | None) -> DeliveryOptions:
    """The options with a TTL that ends at ``deadline``.

    Dispatchers count the TTL from ``accepted_at``; a copy sent later than acceptance gets a TTL
    that still ends at its deadline. A TTL beyond the providers' 28 days is left to the provider's
    default; a TTL of 0 (now or never) stays as it is.
    """
    if deadline is None or notification.options.ttl_seconds == 0:
        return notification.options
    ttl = int((deadline - notification.accepted_at).total_seconds())
    bounded = ttl if 0 <= ttl <= MAX_TTL_SECONDS else None
    return notification.options.model_copy(update={"ttl_seconds": bounded})


def due(copy: HeldCopy, now: datetime) -> NotificationDue:
    """The event that sends the copy on; ``due_at`` is the moment of release, so a read reported
    "up to" an earlier time never covers a copy that went out after it."""
    notification = copy.notification
    return NotificationDue(
        event_id=derived_id(notification.event_id, "due"),
        app_id=notification.app_id,
        occurred_at=now,
        notification_id=notification.notification_id,
        user_id=notification.user_id,
        content=notification.content,
        options=options_until(notification, copy.deadline),
        accepted_at=notification.accepted_at,
        category=notification.category,
        transactional=notification.transactional,
        device_ids=notification.device_ids,
        due_at=now,
    )


def expired(copy: HeldCopy, now: datetime) -> NotificationExpired:
    """The report of a copy dropped because its deadline came first."""
    notification = copy.notification
    if copy.deadline is None:
        raise ValueError("a copy without a deadline never expires")
    return NotificationExpired(
        event_id=derived_id(notification.event_id, "expired"),
        app_id=notification.app_id,
        occurred_at=now,
        notification_id=notification.notification_id,
        user_id=notification.user_id,
        planned_at=copy.release_at,
        deadline=copy.deadline,
    )


def withheld(copy: HeldCopy, reason: WithholdReason, now: datetime) -> NotificationWithheld:
    """The report of a copy the user's opt-out or the category's cap kept back."""
    notification = copy.notification
    return NotificationWithheld(
        event_id=derived_id(notification.event_id, "withheld"),
        app_id=notification.app_id,
        occurred_at=now,
        notification_id=notification.notification_id,
        user_id=notification.user_id,
        reason=reason,
        category=notification.category,
    )


def cancel_outcome(dropped: int, released: int) -> CancelOutcome:
    """Too late when copies went out and none was left to stop; partial when both happened."""
    if released == 0:
        return "cancelled"
    return "partially_cancelled" if dropped else "too_late"


def cancel_result(
    cancel: NotificationCancel, dropped: int, released: int, now: datetime
) -> NotificationCancelResult:
    """The answer to one cancel, counting every copy of the notification seen so far."""
    return NotificationCancelResult(
        event_id=derived_id(cancel.event_id, "result"),
        app_id=cancel.app_id,
        occurred_at=now,
        request_event_id=cancel.event_id,
        notification_id=cancel.notification_id,
        outcome=cancel_outcome(dropped, released),
        dropped=dropped,
        released=released,
    )
