"""Rules of topics, tags and streamed audiences: the limits, how tags change, and the per-user
events a page of matched devices becomes.

Pure: no database, broker or clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from contracts.base import derived_id
from contracts.notifications import NotificationAudience, UserNotification
from contracts.trace import NotificationTraced


class LimitReached(Exception):
    """A change that would take a device or user past a limit; ``field`` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_topic_count(count: int, limit: int, owner: str) -> None:
    """Refuse a device or a user (``owner``) subscribed to more than ``limit`` topics."""
    if count > limit:
        raise LimitReached(
            "subscribe",
            f"the {owner} would be subscribed to {count} topics; the limit is {limit} per {owner} "
            f"(HERALD_MAX_TOPICS_PER_{owner.upper()}): unsubscribe from some first",
        )


def merged_tags(
    current: Mapping[str, str], changes: Mapping[str, str | None], limit: int, owner: str
) -> dict[str, str]:
    """``current`` with ``changes`` applied (a None value removes the tag); LimitReached when the
    result holds more than ``limit`` tags. ``owner`` says whose tags, for the message."""
    tags = dict(current)
    for key, value in changes.items():
        if value is None:
            tags.pop(key, None)
        else:
            tags[key] = value
    if len(tags) > limit:
        raise LimitReached(
            "tags",
            f"the {owner} would have {len(tags)} tags; the limit is {limit} per {owner} "
            "(HERALD_MAX_TAGS): remove some (a null value removes a tag)",
        )
    return dict(sorted(tags.items()))


@dataclass(frozen=True)
class Match:
    """One active device an audience matched, and its user."""

    user_id: str
    device_id: uuid.UUID


@dataclass(frozen=True)
class Progress:
    """How far a notification's audience has been streamed: every user up to ``after`` (by id)
    is published, ``users`` and ``devices`` so far, and whether it is all out."""

    after: str = ""
    users: int = 0
    devices: int = 0
    finished: bool = False

    def then(self, page: Sequence[Match], events: int, page_users: int) -> Progress:
        """The progress once ``page`` (``events`` users) is published; a page short of
        ``page_users`` users was the last."""
        return Progress(
            page[-1].user_id if page else self.after,
            self.users + events,
            self.devices + len(page),
            events < page_users,
        )


def user_events(
    audience: NotificationAudience, page: Sequence[Match], now: datetime
) -> list[UserNotification]:
    """One ``notification.user`` per user of ``page`` (sorted by user), restricted to the user's
    matched devices. Ids derive from (notification, user), like those ingest expands from user
    ids, so a page streamed again after a crash repeats them and the scheduler drops the repeat.
    """
    return [
        UserNotification(
            event_id=derived_id(audience.notification_id, user_id),
            app_id=audience.app_id,
            occurred_at=now,
            notification_id=audience.notification_id,
            user_id=user_id,
            content=audience.content,
            options=audience.options,
            accepted_at=audience.accepted_at,
            schedule=audience.schedule,
            category=audience.category,
            transactional=audience.transactional,
            category_rules=audience.category_rules,
            device_ids=sorted(match.device_id for match in matches),
        )
        for user_id, matches in groupby(page, key=lambda match: match.user_id)
    ]


def targeted(
    audience: NotificationAudience, progress: Progress, now: datetime
) -> NotificationTraced:
    """The step that tells how many users a streamed audience reached, published with its last
    page: until then a tracker cannot know when the notification is done."""
    return NotificationTraced.step(
        "targeted",
        app_id=audience.app_id,
        notification_id=audience.notification_id,
        occurred_at=now,
        users=progress.users,
    )
