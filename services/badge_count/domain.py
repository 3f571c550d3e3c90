"""Badge arithmetic: how deliveries and reads change what a user has unread. Pure functions.

A user's badge is ``tracked + baseline``: ``tracked`` counts notifications Herald delivered and the
user has not read; ``baseline`` is a number a sender set explicitly (badge rule = a number), which
no single read can reduce, only a watermark past the moment it was set, or "mark all read".
Every change bumps ``seq`` so devices can drop a stale badge.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from contracts.content import BadgeRule, Content

#: The latest a notification can come due after it was sent: ingest refuses sends scheduled more
#: than 365 days ahead, and a TTL runs 28 days at most. A read by id of a notification that has not
#: arrived by then never will be needed.
ARRIVAL_HORIZON = timedelta(days=365 + 28)


@dataclass(frozen=True)
class BadgeState:
    """Everything the rules need to know about one user."""

    tracked: int = 0
    baseline: int = 0
    seq: int = 0
    baseline_set_at: datetime | None = None
    read_up_to: datetime | None = None

    @property
    def badge(self) -> int:
        return self.tracked + self.baseline


@dataclass(frozen=True)
class Delivery:
    """What happens when a notification comes due.

    ``suppressed``: the user already read it, so it is not pushed. ``tracked``: it now counts as
    unread. ``clears_tracked``: an explicit badge replaced the tracked unread (they become read).
    ``badge`` is what the push carries; None leaves the device's badge alone.
    """

    state: BadgeState
    badge: int | None
    suppressed: bool = False
    tracked: bool = False
    clears_tracked: bool = False


def already_read(state: BadgeState, due_at: datetime, read_by_id: bool) -> bool:
    """True when a read reached Herald before the notification did (by id or by watermark).

    Watermarks are about when notifications came due, so a notification scheduled for later is
    not swept by a "read up to now" reported before it was due.
    """
    return read_by_id or (state.read_up_to is not None and due_at <= state.read_up_to)


def on_delivery(
    state: BadgeState,
    rule: BadgeRule,
    content: Content,
    *,
    read_before: bool,
    now: datetime,
) -> Delivery:
    """Apply a due notification's badge rule, unless the user has read it already."""
    if read_before:
        return Delivery(state=state, badge=None, suppressed=True)
    if isinstance(rule, int):
        new = replace(state, tracked=0, baseline=rule, seq=state.seq + 1, baseline_set_at=now)
        return Delivery(state=new, badge=new.badge, clears_tracked=True)
    counts = rule == "increment" or (rule == "auto" and content.visible)
    if not counts:
        return Delivery(state=state, badge=None)
    new = replace(state, tracked=state.tracked + 1, seq=state.seq + 1)
    return Delivery(state=new, badge=new.badge, tracked=True)


def on_reads(
    state: BadgeState,
    *,
    newly_read: int,
    newly_read_tracked: int,
    up_to: datetime | None,
    mark_all: bool,
    reported_at: datetime,
) -> BadgeState:
    """The state after a read report that marked ``newly_read`` delivered notifications read,
    ``newly_read_tracked`` of them counted as unread.

    Watermarks only move forward; "mark all" is a watermark at ``reported_at``. A watermark at or
    past the moment an explicit badge was set also clears that baseline. ``seq`` moves only when
    the report changed something a device shows.
    """
    watermark = state.read_up_to
    for candidate in (up_to, reported_at if mark_all else None):
        if candidate is not None and (watermark is None or candidate > watermark):
            watermark = candidate
    baseline = state.baseline
    if baseline and (
        mark_all
        or (
            up_to is not None
            and state.baseline_set_at is not None
            and up_to >= state.baseline_set_at
        )
    ):
        baseline = 0
    tracked = state.tracked - newly_read_tracked
    changed = newly_read > 0 or baseline != state.baseline
    return replace(
        state,
        tracked=tracked,
        baseline=baseline,
        seq=state.seq + 1 if changed else state.seq,
        read_up_to=watermark,
    )
