"""The scheduler's Prometheus instruments: copies held for later, released, expired, withheld,
cancelled."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter

from contracts.notifications import NotificationDue, NotificationWithheld
from contracts.schedule import NotificationExpired

HELD = Counter(
    "herald_scheduler_held_total",
    "Users' copies stored to be released later than when they arrived.",
)
RELEASED = Counter(
    "herald_scheduler_released_total", "Users' copies sent on as due (now or at their time)."
)
EXPIRED = Counter(
    "herald_scheduler_expired_total", "Users' copies whose time ran out before they could go."
)
WITHHELD = Counter(
    "herald_scheduler_withheld_total",
    "Users' copies not sent: the user opted out of the category, or its frequency cap was met.",
    ["reason"],
)
CANCELLED = Counter(
    "herald_scheduler_cancelled_total",
    "Users' copies dropped by a cancel, before or after they arrived.",
)


def settled(events: Sequence[NotificationDue | NotificationExpired | NotificationWithheld]) -> None:
    """Count one release batch's outcomes."""
    for event in events:
        if isinstance(event, NotificationDue):
            RELEASED.inc()
        elif isinstance(event, NotificationExpired):
            EXPIRED.inc()
        else:
            WITHHELD.labels(reason=event.reason).inc()
