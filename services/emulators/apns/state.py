"""What the APNs emulator remembers: accepted notifications, dead tokens and faults to play.

Everything is in memory and bounded, so a stack left running for days stays small.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.emulators.apns.rules import Checked
from services.emulators.faults import FaultQueue


@dataclass(frozen=True)
class Recorded:
    """One accepted notification as a person watching the stack sees it."""

    apns_id: str
    token: str
    received_at: datetime
    auth: str
    checked: Checked
    provider_token_hash: str | None = None

    def view(self) -> dict[str, Any]:
        return {
            "apns_id": self.apns_id,
            "token": self.token,
            "received_at": self.received_at.isoformat(),
            "auth": self.auth,
            "provider_token_hash": self.provider_token_hash,
            "headers": {
                "apns-topic": self.checked.topic,
                "apns-push-type": self.checked.push_type,
                "apns-priority": self.checked.priority,
                "apns-expiration": self.checked.expiration,
                "apns-collapse-id": self.checked.collapse_id,
            },
            "payload": self.checked.payload,
        }


@dataclass(frozen=True)
class Attempt:
    """Any request to the provider API and how it was answered (accepted or not)."""

    received_at: datetime
    token: str
    status: int
    reason: str | None

    def view(self) -> dict[str, Any]:
        return {
            "received_at": self.received_at.isoformat(),
            "token": self.token,
            "status": self.status,
            "reason": self.reason,
        }


@dataclass
class ApnsEmulatorState:
    """Notifications and attempts (oldest dropped past ``capacity``), dead tokens, faults."""

    capacity: int
    messages: deque[Recorded] = field(init=False)
    attempts: deque[Attempt] = field(init=False)
    unregistered: dict[str, datetime] = field(default_factory=dict)
    faults: FaultQueue = field(default_factory=FaultQueue)

    def __post_init__(self) -> None:
        self.messages = deque(maxlen=self.capacity)
        self.attempts = deque(maxlen=self.capacity)

    def listing(self, token: str | None) -> list[dict[str, Any]]:
        return [m.view() for m in self.messages if token is None or m.token == token]

    def attempt_listing(self, token: str | None) -> list[dict[str, Any]]:
        return [a.view() for a in self.attempts if token is None or a.token == token]
