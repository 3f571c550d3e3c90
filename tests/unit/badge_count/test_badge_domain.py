"""Badge arithmetic: deliveries by badge rule, reads by id, watermark and mark-all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.content import Content
from services.badge_count.domain import BadgeState, already_read, on_delivery, on_reads

pytestmark = pytest.mark.unit

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
VISIBLE = Content(title="t")
SILENT = Content(data={"k": "v"})


@pytest.mark.parametrize(
    ("rule", "content", "tracked", "badge"),
    [
        ("auto", VISIBLE, 3, 3),
        ("auto", SILENT, 2, None),
        ("increment", SILENT, 3, 3),
        ("leave", VISIBLE, 2, None),
    ],
)
def test_delivery_rules(rule: str, content: Content, tracked: int, badge: int | None) -> None:
    state = BadgeState(tracked=2, seq=5)

    decision = on_delivery(state, rule, content, read_before=False, now=NOW)  # type: ignore[arg-type]

    assert decision.state.tracked == tracked
    assert decision.badge == badge
    assert decision.state.seq == (6 if badge is not None else 5)


def test_an_explicit_badge_replaces_the_count() -> None:
    decision = on_delivery(BadgeState(tracked=4, seq=1), 9, VISIBLE, read_before=False, now=NOW)

    assert decision.clears_tracked
    assert decision.badge == 9
    assert decision.state == BadgeState(tracked=0, baseline=9, seq=2, baseline_set_at=NOW)


def test_a_notification_read_before_it_came_due_is_suppressed() -> None:
    state = BadgeState(tracked=1, seq=3)

    decision = on_delivery(state, "auto", VISIBLE, read_before=True, now=NOW)

    assert decision.suppressed
    assert decision.state == state
    assert decision.badge is None


def test_watermarks_judge_by_due_time() -> None:
    state = BadgeState(read_up_to=NOW)

    assert already_read(state, NOW - timedelta(seconds=1), read_by_id=False)
    assert not already_read(state, NOW + timedelta(seconds=1), read_by_id=False)
    assert already_read(BadgeState(), NOW, read_by_id=True)


def test_reading_tracked_notifications_lowers_the_badge_and_bumps_seq() -> None:
    after = on_reads(
        BadgeState(tracked=3, baseline=2, seq=7),
        newly_read=2,
        newly_read_tracked=2,
        up_to=None,
        mark_all=False,
        reported_at=NOW,
    )

    assert (after.badge, after.tracked, after.baseline, after.seq) == (3, 1, 2, 8)


def test_a_report_that_reads_nothing_new_changes_nothing() -> None:
    state = BadgeState(tracked=1, seq=4, read_up_to=NOW)

    after = on_reads(
        state,
        newly_read=0,
        newly_read_tracked=0,
        up_to=NOW - timedelta(hours=1),
        mark_all=False,
        reported_at=NOW,
    )

    assert after == state


def test_mark_all_clears_everything_and_sets_the_watermark() -> None:
    state = BadgeState(tracked=2, baseline=5, seq=1, baseline_set_at=NOW - timedelta(hours=1))

    after = on_reads(
        state, newly_read=2, newly_read_tracked=2, up_to=None, mark_all=True, reported_at=NOW
    )

    assert (after.badge, after.seq, after.read_up_to) == (0, 2, NOW)


@pytest.mark.parametrize(("offset", "baseline"), [(timedelta(0), 0), (timedelta(seconds=-1), 4)])
def test_a_watermark_clears_an_explicit_badge_only_from_when_it_was_set(
    offset: timedelta, baseline: int
) -> None:
    state = BadgeState(baseline=4, seq=1, baseline_set_at=NOW)

    after = on_reads(
        state,
        newly_read=0,
        newly_read_tracked=0,
        up_to=NOW + offset,
        mark_all=False,
        reported_at=NOW,
    )

    assert after.baseline == baseline
