"""What the emulator remembers: accepted messages, dead tokens and outages it was told to play.

Everything lives in memory and is bounded, so a stack left running for days stays small.
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.emulators.faults import FaultQueue
from services.emulators.fcm.delivery import as_received

#: Registration tokens the emulator accepts: what FCM hands out is URL-safe text with ':' and
#: '.', so anything else (spaces, slashes...) is answered as an invalid registration token.
TOKEN_FORMAT = re.compile(r"^[A-Za-z0-9_\-:.]{1,4096}$")


@dataclass(frozen=True)
class Recorded:
    """One accepted message as a person watching the stack sees it."""

    name: str
    project: str
    received_at: datetime
    message: dict[str, Any]

    def view(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "project": self.project,
            "received_at": self.received_at.isoformat(),
            "message": self.message,
            "received": as_received(self.message),
        }


class EmulatorState:
    """Recorded messages (oldest dropped past ``capacity``), dead tokens and pending faults."""

    def __init__(self, capacity: int) -> None:
        self.messages: deque[Recorded] = deque(maxlen=capacity)
        self.unregistered: set[str] = set()
        self.faults = FaultQueue()
        self._ids: Iterator[int] = itertools.count(1)

    def next_name(self, project: str, received_at: datetime) -> str:
        """A message name in FCM's format: ``projects/{project}/messages/{id}``."""
        micros = int(received_at.timestamp() * 1_000_000)
        return f"projects/{project}/messages/0:{micros}%{next(self._ids):08x}"

    def record(self, item: Recorded) -> None:
        self.messages.append(item)

    def listing(self, token: str | None) -> list[dict[str, Any]]:
        return [
            item.view()
            for item in self.messages
            if token is None or item.message.get("token") == token
        ]
