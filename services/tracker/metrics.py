"""The tracker's Prometheus instruments: steps recorded per stage, and repeats it ignored."""

from __future__ import annotations

from prometheus_client import Counter

STEPS = Counter(
    "herald_tracker_steps_total",
    "Trace steps consumed, by stage; a repeated event or a re-delivered batch counts again.",
    ["stage"],
)
REPEATED = Counter(
    "herald_tracker_repeated_steps_total",
    "Trace steps already recorded (the same event id again), stored once.",
)
