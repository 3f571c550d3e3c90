"""Badge-count's handlers: count due notifications once, apply read reports once.

Each batch runs in one transaction; its output is published after the commit and the glue commits
the offsets after that, so a crash anywhere re-runs the batch, which finds its own earlier decisions
and publishes the same events again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from contracts import topics
from contracts.badges import BadgeChanged, ReadsReported
from contracts.base import Model, derived_id
from contracts.codec import decode_as, encode
from contracts.notifications import NotificationCounted, NotificationDue
from contracts.topics import Topic
from services.badge_count import domain, metrics, traces
from services.badge_count.store import BadgeStore, CountedRow, DeliveryRow
from shared.clock import Clock
from shared.db import Connection, transaction
from shared.kafka import Publisher, Received, Rejection


class DueHandler:
    """Stamps each due notification with the user's badge, or drops it when already read.

    A batch costs a handful of statements whatever its size: lock every user's state, read what
    earlier deliveries decided and which notifications were read first, decide in memory message
    by message (a user's later message sees the state the earlier one left), write it all back.
    """

    def __init__(self, pool: asyncpg.Pool, store: BadgeStore, bus: Publisher, clock: Clock) -> None:
        self.pool = pool
        self.store = store
        self.bus = bus
        self.clock = clock

    async def __call__(self, batch: Sequence[Received[NotificationDue]]) -> Sequence[Rejection]:
        now = self.clock.now()
        async with transaction(self.pool) as conn:
            output = await self.count(conn, [item.message for item in batch], now)
        await self.bus.publish_all(output)
        counted = [event for _, event in output if isinstance(event, NotificationCounted)]
        stamped = sum(1 for event in counted if event.badge is not None)
        metrics.BADGE_CHANGES.labels(cause="delivery").inc(stamped)
        metrics.SUPPRESSED.inc(len(batch) - len(counted))
        return ()

    async def count(
        self, conn: Connection, dues: Sequence[NotificationDue], now: datetime
    ) -> list[tuple[Topic, Model]]:
        """What ``dues`` publish, in order: each counted event with its trace step; for one read
        before it came due, only the trace step saying it was withheld."""
        states = await self.store.lock_states(conn, {(d.app_id, d.user_id) for d in dues}, now)
        initial = dict(states)
        keys = {(d.app_id, d.user_id, d.notification_id) for d in dues}
        earlier = await self.store.counted_of(conn, keys)
        read_by_id = await self.store.read_by_id_of(conn, keys)
        rows: list[DeliveryRow] = []
        output: list[tuple[Topic, Model]] = []
        for due in dues:
            user, key = (due.app_id, due.user_id), (due.app_id, due.user_id, due.notification_id)
            before = earlier.get(key)
            if before is not None:
                output.extend(published(due, before.badge, before.seq, before.suppressed, now))
                continue
            state = states[user]
            decision = domain.on_delivery(
                state,
                due.options.badge,
                due.content,
                read_before=domain.already_read(state, due.due_at, key in read_by_id),
                now=now,
            )
            if decision.clears_tracked:
                await self.store.record_deliveries(conn, rows, now)
                rows = []
                await self.store.read_all_tracked(conn, due.app_id, due.user_id, now)
            seq = decision.state.seq if decision.badge is not None else None
            rows.append(
                DeliveryRow(
                    app_id=due.app_id,
                    user_id=due.user_id,
                    notification_id=due.notification_id,
                    counts=decision.tracked,
                    badge=decision.badge,
                    seq=seq,
                    suppressed=decision.suppressed,
                    accepted_at=due.accepted_at,
                    due_at=due.due_at,
                )
            )
            earlier[key] = CountedRow(decision.badge, seq, decision.suppressed)
            states[user] = decision.state
            output.extend(published(due, decision.badge, seq, decision.suppressed, now))
        await self.store.record_deliveries(conn, rows, now)
        changed = {user: state for user, state in states.items() if state != initial[user]}
        await self.store.save_states(conn, changed, now)
        return output


def published(
    due: NotificationDue, badge: int | None, seq: int | None, suppressed: bool, now: datetime
) -> list[tuple[Topic, Model]]:
    """A due copy's output: counted and traced so, or (read before it came due) only traced as
    withheld."""
    if suppressed:
        return [(topics.TRACE, traces.read_already(due, now))]
    event = counted_event(due, badge, seq, now)
    return [(topics.COUNTED, event), (topics.TRACE, traces.counted(event))]


def counted_event(
    due: NotificationDue, badge: int | None, seq: int | None, now: datetime
) -> NotificationCounted:
    return NotificationCounted(
        event_id=derived_id(due.event_id, "counted"),
        app_id=due.app_id,
        occurred_at=now,
        notification_id=due.notification_id,
        user_id=due.user_id,
        content=due.content,
        options=due.options,
        accepted_at=due.accepted_at,
        category=due.category,
        transactional=due.transactional,
        device_ids=due.device_ids,
        due_at=due.due_at,
        badge=badge,
        badge_seq=seq,
    )


class ReadsHandler:
    """Applies each read report once and announces the badge change it caused."""

    def __init__(self, pool: asyncpg.Pool, store: BadgeStore, bus: Publisher, clock: Clock) -> None:
        self.pool = pool
        self.store = store
        self.bus = bus
        self.clock = clock

    async def __call__(self, batch: Sequence[Received[ReadsReported]]) -> Sequence[Rejection]:
        now = self.clock.now()
        changes: list[BadgeChanged] = []
        async with transaction(self.pool) as conn:
            for item in batch:
                change = await self.apply(conn, item.message, now)
                if change is not None:
                    changes.append(change)
        await self.bus.publish_all((topics.BADGES, change) for change in changes)
        metrics.BADGE_CHANGES.labels(cause="read").inc(len(changes))
        return ()

    async def apply(
        self, conn: Connection, report: ReadsReported, now: datetime
    ) -> BadgeChanged | None:
        """The badge change ``report`` causes; a repeat yields the first one's change again."""
        state = await self.store.lock_state(conn, report.app_id, report.user_id, now)
        first, earlier = await self.store.claim_report(
            conn, report.event_id, report.app_id, report.user_id, now
        )
        if not first:
            return decode_as(topics.BADGES, earlier, BadgeChanged) if earlier else None
        by_id = await self.store.read_by_ids(
            conn, report.app_id, report.user_id, report.notification_ids, now
        )
        sweep_to = report.occurred_at if report.all else report.up_to
        swept = []
        if sweep_to is not None:
            swept = await self.store.read_up_to(conn, report.app_id, report.user_id, sweep_to, now)
        newly = by_id + swept
        new_state = domain.on_reads(
            state,
            newly_read=len(newly),
            newly_read_tracked=sum(1 for _, counted in newly if counted),
            up_to=report.up_to,
            mark_all=report.all,
            reported_at=report.occurred_at,
        )
        if new_state != state:
            await self.store.save_state(conn, report.app_id, report.user_id, new_state, now)
        if new_state.seq == state.seq:
            return None
        change = BadgeChanged(
            event_id=derived_id(report.event_id, "badge"),
            app_id=report.app_id,
            occurred_at=now,
            user_id=report.user_id,
            badge=new_state.badge,
            badge_seq=new_state.seq,
            read_notification_ids=[notification_id for notification_id, _ in by_id],
            read_up_to=report.up_to,
            all_read=report.all,
            reported_by_device=report.device_id,
        )
        await self.store.remember_change(conn, report.event_id, encode(change))
        return change
