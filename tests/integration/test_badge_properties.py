"""Property: whatever order deliveries, reads and redeliveries arrive in, the badge is right.

Hypothesis drives random interleavings through badge-count's real handlers and PostgreSQL and
compares the result with a small reference model after every step.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.badges import BadgeChanged, ReadsReported
from contracts.base import derived_id
from contracts.content import BadgeRule, Content, DeliveryOptions
from contracts.notifications import NotificationCounted, NotificationDue
from services.badge_count.handlers import DueHandler, ReadsHandler
from services.badge_count.store import BadgeStore
from shared.kafka import Received
from tests.support.clock import FrozenClock
from tests.support.publisher import RecordingPublisher

pytestmark = pytest.mark.integration

START = FrozenClock().now()
NOTIFICATIONS = 6


def due_time(k: int) -> datetime:
    return START + timedelta(minutes=10 * k)


@dataclass
class Reference:
    """The reference: what a user has unread, in the simplest terms."""

    delivered: dict[int, bool] = field(default_factory=dict)
    unread_tracked: set[int] = field(default_factory=set)
    read_ids: set[int] = field(default_factory=set)
    watermark: datetime | None = None
    baseline: int = 0
    baseline_set_at: datetime | None = None
    pushed: set[int] = field(default_factory=set)

    @property
    def badge(self) -> int:
        return len(self.unread_tracked) + self.baseline

    def deliver(self, k: int, rule: BadgeRule, visible: bool, now: datetime) -> None:
        if k in self.delivered:
            return
        read_before = k in self.read_ids or (
            self.watermark is not None and due_time(k) <= self.watermark
        )
        self.delivered[k] = not read_before
        if read_before:
            return
        self.pushed.add(k)
        if isinstance(rule, int):
            self.unread_tracked.clear()
            self.baseline, self.baseline_set_at = rule, now
        elif rule == "increment" or (rule == "auto" and visible):
            self.unread_tracked.add(k)

    def read(self, ids: set[int], up_to: datetime | None, all_: bool, now: datetime) -> None:
        self.read_ids |= ids
        self.unread_tracked -= ids
        sweep = now if all_ else up_to
        if sweep is not None:
            self.unread_tracked = {k for k in self.unread_tracked if due_time(k) > sweep}
            if self.watermark is None or sweep > self.watermark:
                self.watermark = sweep
            if self.baseline_set_at is not None and sweep >= self.baseline_set_at:
                self.baseline = 0
        if all_:
            self.baseline = 0


rules = st.one_of(st.sampled_from(["auto", "increment", "leave"]), st.integers(0, 5))
deliver = st.tuples(st.just("deliver"), st.integers(0, NOTIFICATIONS - 1), rules, st.booleans())
read_ids = st.tuples(
    st.just("read"), st.sets(st.integers(0, NOTIFICATIONS - 1), min_size=1, max_size=3)
)
read_up_to = st.tuples(st.just("up_to"), st.integers(-1, NOTIFICATIONS + 3))
read_all = st.tuples(st.just("all"))
redeliver = st.tuples(st.just("again"), st.integers(0, 1000))
operations = st.lists(
    st.one_of(deliver, deliver, read_ids, read_up_to, read_all, redeliver), min_size=1, max_size=25
)


def received(message: Any) -> Received[Any]:
    return Received(message, "t", 0, 0, None, b"")


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
async def test_badge_always_equals_unread_and_never_goes_back(
    badge_pool: asyncpg.Pool, ops: list[tuple[Any, ...]]
) -> None:
    pool = badge_pool
    clock = FrozenClock(START)
    bus = RecordingPublisher()
    store = BadgeStore(pool)
    due_handler = DueHandler(pool, store, bus, clock)
    reads_handler = ReadsHandler(pool, store, bus, clock)
    user = f"prop-{uuid.uuid4().hex[:12]}"
    ids = {k: uuid.uuid4() for k in range(NOTIFICATIONS)}
    model = Reference()
    history: list[Any] = []

    for op in ops:
        clock.advance(minutes=7)
        if op[0] == "again":
            if not history:
                continue
            message = history[op[1] % len(history)]
        elif op[0] == "deliver":
            _, k, rule, visible = op
            content = Content(title="t") if visible else Content(data={"d": "1"})
            message = NotificationDue(
                event_id=derived_id(ids[k], user, "due"),
                app_id="propapp",
                occurred_at=clock.now(),
                notification_id=ids[k],
                user_id=user,
                content=content,
                options=DeliveryOptions(badge=rule),
                accepted_at=START,
                due_at=due_time(k),
            )
            model.deliver(k, rule, visible, clock.now())
        else:
            read_set: set[int] = op[1] if op[0] == "read" else set()
            up_to = due_time(op[1]) if op[0] == "up_to" else None
            message = ReadsReported(
                event_id=uuid.uuid4(),
                app_id="propapp",
                occurred_at=clock.now(),
                user_id=user,
                notification_ids=[ids[k] for k in sorted(read_set)],
                up_to=up_to,
                all=op[0] == "all",
            )
            model.read(read_set, up_to, op[0] == "all", clock.now())
        history.append(message)
        if isinstance(message, NotificationDue):
            await due_handler([received(message)])
        else:
            await reads_handler([received(message)])

        state = await store.badge_of("propapp", user)
        tracked_rows = await pool.fetchval(
            "SELECT count(*) FROM counted"
            " WHERE app_id = 'propapp' AND user_id = $1 AND counts AND read_at IS NULL",
            user,
        )
        assert state.badge == model.badge
        assert state.tracked == tracked_rows
        assert state.badge >= 0

    seqs: dict[uuid.UUID, int] = {}
    for event in bus.messages:
        if isinstance(event, BadgeChanged | NotificationCounted) and event.badge_seq is not None:
            seqs.setdefault(event.event_id, event.badge_seq)
    in_order = list(seqs.values())
    assert in_order == sorted(in_order)
    assert len(set(in_order)) == len(in_order)
    pushed = {e.notification_id for e in bus.messages if isinstance(e, NotificationCounted)}
    assert pushed == {ids[k] for k in model.pushed}
