"""Pauses per app: while a provider refuses an app as a whole (credentials, token updates), that
app's pushes wait untouched and every other app's keep flowing.

A dispatcher serves one platform, so a pause here is per (app, platform). It ends at its time or
as soon as the app's credentials change (a new revision from apps.changed), whichever comes first.
Pauses live in memory, per replica: another replica learns of one from its own first refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.dispatcher.domain import PausePolicy

log = logging.getLogger(__name__)

#: The app's credential revision (None: the deployment's own credentials from settings).
RevisionOf = Callable[[str], int | None]


@dataclass(frozen=True)
class Paused:
    """An app's pause: until when, why, for which credentials, and how many in a row."""

    until: datetime
    reason: str
    revision: int | None
    strikes: int


class Pauses:
    """The apps this replica holds back, with the credentials revision each pause concerns."""

    def __init__(self, policy: PausePolicy, revision_of: RevisionOf) -> None:
        self.policy = policy
        self._revision_of = revision_of
        self._paused: dict[str, Paused] = {}
        self._released: dict[str, datetime] = {}

    def current(self, app_id: str, now: datetime) -> Paused | None:
        """The app's pause in force at ``now``; a pause whose credentials changed is lifted."""
        if not self._paused:
            return None
        paused = self._paused.get(app_id)
        if paused is None:
            return None
        if self._revision_of(app_id) != paused.revision:
            del self._paused[app_id]
            self._released[app_id] = paused.until
            log.warning("app %s: its credentials changed; its pushes resume", app_id)
            return None
        return paused if now < paused.until else None

    def pause(self, app_id: str, now: datetime, reason: str, *, wait_at_least: float) -> Paused:
        """Hold the app back after a refusal; one already in force is kept (concurrent refusals
        of one pause do not lengthen it), a refusal after it ended doubles the next one."""
        revision = self._revision_of(app_id)
        previous = self._paused.get(app_id)
        if previous is not None and previous.revision == revision and now < previous.until:
            return previous
        strikes = previous.strikes + 1 if previous and previous.revision == revision else 1
        length = self.policy.length(strikes, wait_at_least=wait_at_least)
        paused = Paused(now + timedelta(seconds=length), reason, revision, strikes)
        self._paused[app_id] = paused
        log.warning(
            "app %s paused for %.0fs (%d in a row): %s; its pushes wait, other apps go on",
            app_id,
            length,
            strikes,
            reason,
        )
        return paused

    def resumed(self, app_id: str) -> None:
        """The provider accepted one of the app's pushes: forget its pauses."""
        if self._paused and self._paused.pop(app_id, None) is not None:
            log.warning("app %s: the provider accepts its pushes again", app_id)

    def due(self, app_id: str, not_before: datetime, now: datetime) -> datetime:
        """When a waiting push may go: its ``not_before``, or now if it waited for a pause that
        its app's new credentials lifted early."""
        if self._paused and app_id in self._paused:
            self.current(app_id, now)
        if not self._released:
            return not_before
        released = self._released.get(app_id)
        if released is None:
            return not_before
        if now >= released:
            del self._released[app_id]
            return not_before
        return now if not_before <= released else not_before
