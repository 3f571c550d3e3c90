"""Scheduler consumers: copies to hold, cancels, and users' preference changes.

The glue decodes and commits; each handler returns once its effects are durable (and, for
cancels, once their results are acknowledged by the broker).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from contracts import topics
from contracts.notifications import UserNotification
from contracts.schedule import NotificationCancel
from contracts.users import UserPreferences
from services.scheduler import domain, metrics, outcomes, traces
from services.scheduler.planning import Planner
from services.scheduler.preferences_store import UserKey, save_preferences
from services.scheduler.store import SchedulerStore
from shared.clock import Clock
from shared.db import transaction
from shared.kafka import Publisher, Received, Rejection


class UserNotificationHandler:
    """Takes each batch of users' copies in; the release loop sends them when due."""

    def __init__(self, planner: Planner) -> None:
        self.planner = planner

    async def __call__(self, batch: Sequence[Received[UserNotification]]) -> Sequence[Rejection]:
        await self.planner.take_in([item.message for item in batch])
        return ()


class CancelHandler:
    """Drops held copies of cancelled notifications and publishes what each cancel achieved, with
    a trace step per dropped copy. Both are derived from every copy dropped so far, so a batch run
    again after a crash (or a repeated cancel) publishes the same events under the same ids.

    The drops commit first; their trace steps then go out ``page_copies`` at a time, so cancelling
    a broadcast holds one page in memory, never the audience."""

    def __init__(
        self,
        store: SchedulerStore,
        publisher: Publisher,
        clock: Clock,
        *,
        page_copies: int,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.clock = clock
        self.page_copies = page_copies

    async def __call__(self, batch: Sequence[Received[NotificationCancel]]) -> Sequence[Rejection]:
        now = self.clock.now()
        cancels = sorted(
            (item.message for item in batch), key=lambda c: (c.app_id, c.notification_id)
        )
        async with transaction(self.store.pool) as conn:
            tallies = [
                await self.store.cancel(conn, cancel.app_id, cancel.notification_id, now)
                for cancel in cancels
            ]
        for cancel in cancels:
            await self._trace_drops(cancel)
        await self.publisher.publish_all(
            (topics.CANCEL_RESULTS, outcomes.cancel_result(cancel, t.dropped, t.released, now))
            for cancel, t in zip(cancels, tallies, strict=True)
        )
        metrics.CANCELLED.inc(sum(t.dropped_now for t in tallies))
        return ()

    async def _trace_drops(self, cancel: NotificationCancel) -> None:
        after = ""
        while page := await self.store.dropped_page(
            cancel.app_id, cancel.notification_id, after, self.page_copies
        ):
            await self.publisher.publish_all(
                (topics.TRACE, traces.cancelled(cancel.app_id, cancel.notification_id, user, at))
                for user, at in page
            )
            after = page[-1][0]


class PreferencesHandler:
    """Keeps the scheduler's copy of users' preferences and re-plans their held copies."""

    def __init__(
        self, store: SchedulerStore, clock: Clock, wake: Callable[[datetime], None]
    ) -> None:
        self.store = store
        self.clock = clock
        self.wake = wake

    async def __call__(self, batch: Sequence[Received[UserPreferences]]) -> Sequence[Rejection]:
        latest: dict[UserKey, UserPreferences] = {}
        for item in batch:
            event = item.message
            key = (event.app_id, event.user_id)
            if key not in latest or event.revision >= latest[key].revision:
                latest[key] = event
        now = self.clock.now()
        plans = []
        async with transaction(self.store.pool) as conn:
            changed = await save_preferences(conn, list(latest.values()), now)
            if not changed:
                return ()
            for copy in await self.store.held_of_users(conn, changed):
                n = copy.notification
                event = latest[(n.app_id, n.user_id)]
                preferences = domain.Preferences(event.time_zone, event.quiet_hours)
                plan = domain.plan(n, preferences, copy.offset)
                plans.append((copy.event_id, plan, domain.act_at(plan, now)))
            if plans:
                await self.store.replan(conn, plans)
        if plans:
            self.wake(min(act_at for _, _, act_at in plans))
        return ()
