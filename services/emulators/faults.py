"""Faults an emulator can be told to play on its next sends: an error status, Retry-After, slowness.

Shared by the APNs and Web Push emulators so tests and demos drive every failure path the same way:
``POST /emulator/faults {"status": 429, "count": 2, "retry_after": "30", "delay_seconds": 0}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


class FaultSpecError(ValueError):
    """A fault request the emulator cannot play; the message says what is expected."""


@dataclass
class Fault:
    """The next ``remaining`` sends wait ``delay_seconds``, then answer ``status`` (0: normally)."""

    status: int
    remaining: int
    retry_after: str | None = None
    delay_seconds: float = 0.0


def parse_fault(raw: bytes, statuses: frozenset[int]) -> Fault:
    """A fault from its JSON request body; ``status`` 0 with a delay plays a slow success."""
    try:
        spec = json.loads(raw)
        status = int(spec.get("status", 0))
        count = int(spec.get("count", 1))
        retry_after = spec.get("retry_after")
        delay = float(spec.get("delay_seconds", 0.0))
    except (ValueError, TypeError, AttributeError) as exc:
        raise FaultSpecError(
            f"a fault is {{status, count?, retry_after?, delay_seconds?}}: {exc}"
        ) from None
    if (status != 0 and status not in statuses) or count < 1 or not 0 <= delay <= 120:
        raise FaultSpecError(
            f"status must be 0 or one of {sorted(statuses)}, count at least 1, "
            "delay_seconds between 0 and 120"
        )
    return Fault(status, count, None if retry_after is None else str(retry_after), delay)


class FaultQueue:
    """The fault pending, if any, counted down one send at a time."""

    def __init__(self) -> None:
        self.pending: Fault | None = None

    def take(self) -> Fault | None:
        fault = self.pending
        if fault is None:
            return None
        fault.remaining -= 1
        if fault.remaining <= 0:
            self.pending = None
        return fault
