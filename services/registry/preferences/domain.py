"""A user's preferences as the registry keeps them, and the event that publishes them. Pure."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from contracts.users import QuietHours, UserPreferences


@dataclass(frozen=True)
class StoredPreferences:
    """A user's preferences as stored, with the revision that numbers this version of them."""

    app_id: str
    user_id: str
    revision: int
    time_zone: str | None
    quiet_hours: QuietHours | None
    updated_at: datetime


def preferences_event(stored: StoredPreferences, now: datetime) -> UserPreferences:
    """The whole current state of a user's preferences, as the scheduler keeps it."""
    return UserPreferences(
        event_id=uuid.uuid4(),
        app_id=stored.app_id,
        occurred_at=now,
        user_id=stored.user_id,
        revision=stored.revision,
        time_zone=stored.time_zone,
        quiet_hours=stored.quiet_hours,
    )
