"""Keeping ``apps.changed`` genuine: on a compacted topic a service starting later reads each
app's newest record, so when a record naming an app is refused (forged, replayed) the registry
publishes that app's current state again, and the newest record is the real one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from services.registry.apps.domain import AdminError, check_app_id
from shared.errors import RETRYABLE

log = logging.getLogger(__name__)

#: How long to wait before trying again when the database or the broker is unavailable.
RETRY_SECONDS = 1.0


class Announcer(Protocol):
    """What healing needs of AppAdmin: publish an app's state again unless it is not older."""

    async def reannounce(self, app_id: str, refused_revision: int | None) -> bool: ...


class AppsHealer:
    """Collects the apps named by refused records and re-announces them, one at a time."""

    def __init__(self, admin: Announcer) -> None:
        self.admin = admin
        self._pending: dict[str, int | None] = {}
        self._wake = asyncio.Event()

    def refused(self, app_id: str, revision: int | None) -> None:
        """Note a refused record (the feed calls this; it must not block).

        ``revision``: the state it carried when genuine but old; None when not genuine at all.
        """
        try:
            check_app_id(app_id)
        except AdminError:
            return
        if app_id in self._pending:
            earlier = self._pending[app_id]
            revision = None if earlier is None or revision is None else min(earlier, revision)
        self._pending[app_id] = revision
        self._wake.set()

    async def run(self, stopping: asyncio.Event) -> None:
        """Re-announce what was noted, until ``stopping`` is set."""
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), RETRY_SECONDS)
            self._wake.clear()
            await self.heal()

    async def heal(self) -> None:
        """Re-announce every app noted so far; what fails for now is kept for the next round."""
        pending, self._pending = self._pending, {}
        for app_id, revision in pending.items():
            try:
                if await self.admin.reannounce(app_id, revision):
                    log.warning("app %s re-announced after a refused apps.changed record", app_id)
            except RETRYABLE as error:
                log.warning("app %s not re-announced yet: %s", app_id, error)
                self.refused(app_id, revision)
