"""Badge-count's Prometheus instruments: badges changed by deliveries and by reads."""

from __future__ import annotations

from prometheus_client import Counter

BADGE_CHANGES = Counter(
    "herald_badge_changes_total",
    "Badges stamped on delivered notifications (cause=delivery) or lowered by reads (cause=read);"
    " a re-delivered batch counts again.",
    ["cause"],
)
SUPPRESSED = Counter(
    "herald_badge_suppressed_total",
    "Due notifications not sent on because the user read them before they came due.",
)
