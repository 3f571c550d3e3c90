"""Signatures already checked, by the exact token text.

Senders reuse one provider token for many requests (APNs asks for a new one at most every 20
minutes, VAPID tokens are cached per origin), and an ES256 verification was a sixth of an emulator's
CPU per request. A token seen before is the same bytes with the same signature, so its claims are
reused; the time rules (age, expiry) are still applied to every request.
"""

from __future__ import annotations

from typing import Generic, TypeVar

Value = TypeVar("Value")

KEPT = 256


class VerifiedTokens(Generic[Value]):
    """What verifying each of the last ``kept`` distinct tokens gave."""

    def __init__(self, kept: int = KEPT) -> None:
        self.kept = kept
        self._known: dict[str, Value] = {}

    def get(self, token: str) -> Value | None:
        return self._known.get(token)

    def add(self, token: str, value: Value) -> None:
        self._known[token] = value
        while len(self._known) > self.kept:
            del self._known[next(iter(self._known))]
