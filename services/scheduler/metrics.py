"""The scheduler's Prometheus instruments: copies held for later, released, expired, cancelled."""

from __future__ import annotations

from prometheus_client import Counter

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
CANCELLED = Counter(
    "herald_scheduler_cancelled_total",
    "Users' copies dropped by a cancel, before or after they arrived.",
)
