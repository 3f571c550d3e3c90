"""Faults an emulator can be told to play on its next sends: an error status, Retry-After, slowness.

Shared by the emulators so tests and demos drive every failure path the same way:
``POST /emulator/faults {"status": 429, "count": 2, "retry_after": "30", "delay_seconds": 0}``.
``seconds`` plays the fault on every send for that long instead of a count (a storm of 429s), and
``ratio`` on that share of the sends only (30 % of requests answered 503); time is the emulator's
clock.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta


class FaultSpecError(ValueError):
    """A fault request the emulator cannot play; the message says what is expected."""


@dataclass
class Fault:
    """The next ``remaining`` sends (or every send until ``until``) that the dice pick with
    probability ``ratio`` wait ``delay_seconds``, then answer ``status`` (0: normally)."""

    status: int
    remaining: int
    retry_after: str | None = None
    delay_seconds: float = 0.0
    until: datetime | None = None
    ratio: float = 1.0


def parse_fault(raw: bytes, statuses: frozenset[int], now: datetime) -> Fault:
    """A fault from its JSON request body; ``status`` 0 with a delay plays a slow success."""
    try:
        spec = json.loads(raw)
        status = int(spec.get("status", 0))
        count = int(spec.get("count", 1))
        retry_after = spec.get("retry_after")
        delay = float(spec.get("delay_seconds", 0.0))
        seconds = spec.get("seconds")
        lasting = None if seconds is None else float(seconds)
        ratio = float(spec.get("ratio", 1.0))
    except (ValueError, TypeError, AttributeError) as exc:
        raise FaultSpecError(
            f"a fault is {{status, count?, seconds?, ratio?, retry_after?, delay_seconds?}}: {exc}"
        ) from None
    if (
        (status != 0 and status not in statuses)
        or count < 1
        or not 0 <= delay <= 120
        or not 0 < ratio <= 1
        or (lasting is not None and not 0 < lasting <= 3600)
    ):
        raise FaultSpecError(
            f"status must be 0 or one of {sorted(statuses)}, count at least 1, "
            "delay_seconds between 0 and 120, ratio above 0 and at most 1, seconds above 0 and "
            "at most 3600"
        )
    until = None if lasting is None else now + timedelta(seconds=lasting)
    return Fault(
        status, count, None if retry_after is None else str(retry_after), delay, until, ratio
    )


class FaultQueue:
    """The fault pending, if any, counted down one send at a time (or timed out)."""

    def __init__(self) -> None:
        self.pending: Fault | None = None

    def take(self, now: datetime) -> Fault | None:
        fault = self.pending
        if fault is None:
            return None
        if fault.until is not None:
            if now >= fault.until:
                self.pending = None
                return None
        else:
            fault.remaining -= 1
            if fault.remaining <= 0:
                self.pending = None
        if fault.ratio < 1 and random.random() >= fault.ratio:  # noqa: S311 - dice, not security
            return None
        return fault
