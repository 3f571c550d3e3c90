"""A user's preferences as the registry keeps them, the event that publishes them, and which of a
user's platforms a push may reach. Pure.

The stated locale stays out of the event: only the registry's fan-out uses it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from contracts.base import derived_id
from contracts.notifications import NotificationCounted, NotificationWithheld
from contracts.platforms import Platform
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
    categories: Mapping[str, bool] = field(default_factory=dict)
    channels: Mapping[Platform, bool] = field(default_factory=dict)
    #: The locale the user stated (a normalised BCP 47 tag); only fan-out reads it.
    locale: str | None = None


@dataclass(frozen=True)
class FanOutChoices:
    """What fan-out needs of a user's preferences: their platform choices and stated locale."""

    channels: Mapping[Platform, bool] = field(default_factory=dict)
    locale: str | None = None


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
        categories=dict(stored.categories),
        channels=dict(stored.channels),
    )


def refused_platforms(
    channels: Mapping[Platform, bool], transactional: bool
) -> frozenset[Platform]:
    """The platforms the user turned off; none for a transactional push, which reaches them all."""
    if transactional:
        return frozenset()
    return frozenset(platform for platform, allowed in channels.items() if not allowed)


def channel_withheld(
    counted: NotificationCounted, platforms: Collection[Platform], now: datetime
) -> NotificationWithheld:
    """The report that the user's platform choices kept ``counted`` from some of their devices;
    its id derives from the counted event, so a redelivery reports the same event again."""
    return NotificationWithheld(
        event_id=derived_id(counted.event_id, "withheld"),
        app_id=counted.app_id,
        occurred_at=now,
        notification_id=counted.notification_id,
        user_id=counted.user_id,
        reason="channel_opt_out",
        category=counted.category,
        platforms=sorted(platforms),
    )
