"""Taking users' copies in: plan each one and store it, in one transaction per batch.

No copy is sent on from here: every copy, due now or later, is released by the release loop, so
there is one path to the broker and one place where replicas coordinate. Only the trace steps of
the copies taken in (held for later, or cancelled before they came) are published, before the
transaction commits: a crash after the commit would otherwise lose them, since a redelivered copy
is recognised as stored and skipped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime

from contracts import topics
from contracts.notifications import UserNotification
from contracts.trace import NotificationTraced
from services.scheduler import domain, metrics, traces
from services.scheduler.domain import NO_OFFSET, NO_PREFERENCES
from services.scheduler.preferences_store import UserKey, preferences_of
from services.scheduler.store import NewCopy, NotificationKey, SchedulerStore, WaveKey
from shared.clock import Clock
from shared.db import Connection, transaction
from shared.kafka import Publisher


class Planner:
    """Plans and stores copies; wakes the release loop when one is due sooner than it expects."""

    def __init__(
        self,
        store: SchedulerStore,
        publisher: Publisher,
        clock: Clock,
        wake: Callable[[datetime], None],
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.clock = clock
        self.wake = wake

    async def take_in(self, notifications: Sequence[UserNotification]) -> None:
        """Store every copy not stored before; copies of cancelled notifications as cancelled."""
        now = self.clock.now()
        unique = list({n.event_id: n for n in notifications}.values())
        async with transaction(self.store.pool) as conn:
            cancelled = await self.store.lock_notifications(
                conn, {(n.app_id, n.notification_id) for n in unique}, now
            )
            seen = await self.store.seen(conn, [n.event_id for n in unique])
            fresh = [n for n in unique if n.event_id not in seen]
            if not fresh:
                return
            preferences = await preferences_of(conn, {(n.app_id, n.user_id) for n in fresh})
            copies = [
                self._copy(
                    n, preferences.get((n.app_id, n.user_id), NO_PREFERENCES), now, cancelled
                )
                for n in fresh
            ]
            copies = await self._pace(conn, copies, preferences, now)
            await self.store.hold(conn, copies, now)
            steps = [step for copy in copies if (step := _trace_step(copy, now)) is not None]
            await self.publisher.publish_all((topics.TRACE, step) for step in steps)
        due = [copy.act_at for copy in copies if copy.state == "held"]
        metrics.HELD.inc(sum(1 for step in steps if step.stage == "held"))
        metrics.CANCELLED.inc(len(copies) - len(due))
        if due:
            self.wake(min(due))

    def _copy(
        self,
        notification: UserNotification,
        preferences: domain.Preferences,
        now: datetime,
        cancelled: set[NotificationKey],
    ) -> NewCopy:
        plan = domain.plan(notification, preferences)
        if (notification.app_id, notification.notification_id) in cancelled:
            return NewCopy(notification, plan, NO_OFFSET, "cancelled", now)
        return NewCopy(notification, plan, NO_OFFSET, "held", domain.act_at(plan, now))

    async def _pace(
        self,
        conn: Connection,
        copies: list[NewCopy],
        preferences: dict[UserKey, domain.Preferences],
        now: datetime,
    ) -> list[NewCopy]:
        """Give each paced copy a slot in its wave (its copies planned for the same instant) and
        move its release by the slot's offset."""
        waves: dict[WaveKey, list[tuple[int, int]]] = defaultdict(list)
        for index, copy in enumerate(copies):
            n = copy.notification
            rate = domain.pacing_rate(n)
            if rate is not None and copy.state == "held" and not copy.plan.expired:
                waves[(n.app_id, n.notification_id, copy.plan.release_at)].append((index, rate))
        if not waves:
            return copies
        first = await self.store.take_slots(
            conn, {wave: len(members) for wave, members in waves.items()}, now
        )
        paced = list(copies)
        for wave, members in waves.items():
            for position, (index, rate) in enumerate(members):
                n = copies[index].notification
                offset = domain.pace_offset(first[wave] + position, rate)
                plan = domain.plan(
                    n, preferences.get((n.app_id, n.user_id), NO_PREFERENCES), offset
                )
                paced[index] = NewCopy(n, plan, offset, "held", domain.act_at(plan, now))
        return paced


def _trace_step(copy: NewCopy, now: datetime) -> NotificationTraced | None:
    """A stored copy's trace step: cancelled, or held when it waits; None when it goes out now
    (the release loop reports it released)."""
    n = copy.notification
    if copy.state == "cancelled":
        return traces.cancelled(n.app_id, n.notification_id, n.user_id, now)
    reason = domain.hold_reason(copy.plan, now)
    return None if reason is None else traces.held(n, reason, copy.plan.release_at, now)
