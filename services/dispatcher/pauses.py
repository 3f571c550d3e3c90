"""Pauses per app: while a provider refuses an app as a whole (credentials, token updates), that
app's pushes wait untouched and every other app's keep flowing.

A dispatcher serves one platform, so a pause here is per (app, platform). It ends as soon as the
app's credentials change (a new revision from apps.changed), or at its time: then one push goes
first as a probe while the app's other pushes wait for its verdict here, so a refused app costs the
provider one request per pause, not one per waiting push. Pauses live in memory, per replica:
another replica learns of one from its own first refusal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeAlias

from services.dispatcher.domain import PausePolicy

log = logging.getLogger(__name__)

#: The app's credential revision (None: the deployment's own credentials from settings).
RevisionOf = Callable[[str], int | None]
#: Told the app id each time one of its pauses begins (the metrics count them).
OnPause = Callable[[str], None]


def _unobserved(app_id: str) -> None:
    """No one is told of pauses."""


@dataclass(frozen=True)
class Paused:
    """An app's pause: until when, why, for which credentials, and how many in a row."""

    until: datetime
    reason: str
    revision: int | None
    strikes: int


#: What ``admit`` answers: go (None), go as the probe (True), wait for the probe (a future), or
#: hold the push until the pause ends (Paused).
Admission: TypeAlias = bool | asyncio.Future[None] | Paused | None


class Pauses:
    """The apps this replica holds back, with the credentials revision each pause concerns."""

    def __init__(
        self, policy: PausePolicy, revision_of: RevisionOf, on_pause: OnPause = _unobserved
    ) -> None:
        self.policy = policy
        self._revision_of = revision_of
        self._on_pause = on_pause
        self._paused: dict[str, Paused] = {}
        self._probes: dict[str, asyncio.Future[None]] = {}
        self._released: dict[str, datetime] = {}

    def admit(self, app_id: str, now: datetime) -> Admission:
        """May a push of the app go now? Whoever gets True is the probe and calls ``settled``."""
        if not self._paused:
            return None
        paused = self._paused.get(app_id)
        if paused is None:
            return None
        if self._revision_of(app_id) != paused.revision:
            self._lift(app_id, paused)
            return None
        if now < paused.until:
            return paused
        probe = self._probes.get(app_id)
        if probe is not None:
            return probe
        self._probes[app_id] = asyncio.get_running_loop().create_future()
        return True

    def settled(self, app_id: str) -> None:
        """The probe has its verdict: the pushes waiting for it look again."""
        probe = self._probes.pop(app_id, None)
        if probe is not None and not probe.done():
            probe.set_result(None)

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
        self._on_pause(app_id)
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
        paused = self._paused.get(app_id) if self._paused else None
        if paused is not None and self._revision_of(app_id) != paused.revision:
            self._lift(app_id, paused)
        if not self._released:
            return not_before
        released = self._released.get(app_id)
        if released is None:
            return not_before
        if now >= released:
            del self._released[app_id]
            return not_before
        return now if not_before <= released else not_before

    def _lift(self, app_id: str, paused: Paused) -> None:
        del self._paused[app_id]
        self._released[app_id] = paused.until
        self.settled(app_id)
        log.warning("app %s: its credentials changed; its pushes resume", app_id)
