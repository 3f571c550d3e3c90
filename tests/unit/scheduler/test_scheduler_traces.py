"""The scheduler's trace steps: what each says, and ids that repeat when a step is run again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.scheduler import outcomes, traces
from services.scheduler.outcomes import HeldCopy
from tests.support.factories import user_notification

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
LATER = NOW + timedelta(hours=8)


def test_a_held_copy_says_why_and_until_when() -> None:
    copy = user_notification(NOW)

    step = traces.held(copy, "quiet_hours", LATER, NOW)

    assert (step.stage, step.user_id, step.reason, step.until) == (
        "held",
        copy.user_id,
        "quiet_hours",
        LATER,
    )
    assert step.notification_id == copy.notification_id


def test_settled_copies_are_released_expired_or_withheld_with_reason_and_category() -> None:
    copy = user_notification(NOW, category="marketing", options={"ttl_seconds": 60})
    held = HeldCopy(copy, LATER, LATER + timedelta(seconds=60))

    released = traces.settled(outcomes.settle(held, LATER))
    expired = traces.settled(outcomes.settle(held, LATER + timedelta(hours=1)))
    withheld = traces.settled(outcomes.withheld(held, "frequency_cap", LATER))

    assert [released.stage, expired.stage, withheld.stage] == ["released", "expired", "withheld"]
    assert (released.reason, released.category, released.occurred_at) == (None, None, LATER)
    assert (withheld.reason, withheld.category) == ("frequency_cap", "marketing")
    assert {step.user_id for step in (released, expired, withheld)} == {copy.user_id}


def test_a_step_run_again_has_the_same_id_and_each_user_its_own() -> None:
    copy = user_notification(NOW)

    first = traces.cancelled("testapp", copy.notification_id, "ann", NOW)
    again = traces.cancelled("testapp", copy.notification_id, "ann", LATER)
    other = traces.cancelled("testapp", copy.notification_id, "bob", NOW)

    assert first.event_id == again.event_id != other.event_id
