"""What the scheduler publishes: due or expired per copy, TTLs that end at the deadline, cancels."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts.notifications import NotificationDue
from contracts.schedule import NotificationCancel, NotificationExpired
from services.scheduler import outcomes
from services.scheduler.outcomes import HeldCopy
from tests.support.factories import user_notification

pytestmark = pytest.mark.unit

ACCEPTED = datetime(2026, 3, 1, 12, tzinfo=UTC)
PLANNED = ACCEPTED + timedelta(days=1)


def copy(
    deadline: datetime | None, ttl: int | None = None, release_at: datetime = PLANNED
) -> HeldCopy:
    notification = user_notification(ACCEPTED, options={"ttl_seconds": ttl})
    return HeldCopy(notification, release_at, deadline)


def test_a_copy_before_its_deadline_is_due_with_a_stable_id() -> None:
    held = copy(PLANNED + timedelta(hours=2), ttl=7200)

    first = outcomes.settle(held, PLANNED + timedelta(milliseconds=3))
    again = outcomes.settle(held, PLANNED + timedelta(seconds=40))

    assert isinstance(first, NotificationDue)
    assert first.event_id == again.event_id
    assert first.due_at == PLANNED + timedelta(milliseconds=3)
    assert first.occurred_at == PLANNED + timedelta(milliseconds=3)


def test_the_ttl_is_rebased_so_acceptance_plus_ttl_is_the_deadline() -> None:
    due = outcomes.settle(copy(PLANNED + timedelta(hours=2), ttl=7200), PLANNED)

    assert isinstance(due, NotificationDue)
    assert due.options.ttl_seconds == 26 * 3600


def test_a_deadline_beyond_what_providers_keep_leaves_the_ttl_to_them() -> None:
    far = ACCEPTED + timedelta(days=40)
    due = outcomes.settle(copy(far + timedelta(hours=2), ttl=7200, release_at=far), far)

    assert isinstance(due, NotificationDue)
    assert due.options.ttl_seconds is None


def test_now_or_never_and_no_deadline_keep_the_options() -> None:
    now_or_never = outcomes.settle(copy(None, ttl=0), PLANNED)
    no_limit = outcomes.settle(copy(None), PLANNED)

    assert isinstance(now_or_never, NotificationDue)
    assert now_or_never.options.ttl_seconds == 0
    assert isinstance(no_limit, NotificationDue)
    assert no_limit.options.ttl_seconds is None


def test_a_copy_at_or_past_its_deadline_is_reported_expired_never_due() -> None:
    deadline = PLANNED + timedelta(hours=2)

    late = outcomes.settle(copy(deadline, ttl=7200), deadline)
    planned_past_it = outcomes.settle(copy(deadline, release_at=deadline), ACCEPTED)

    assert isinstance(late, NotificationExpired)
    assert late.deadline == deadline
    assert late.planned_at == PLANNED
    assert isinstance(planned_past_it, NotificationExpired)


@pytest.mark.parametrize(
    ("dropped", "released", "outcome"),
    [
        (0, 0, "cancelled"),
        (5, 0, "cancelled"),
        (5, 3, "partially_cancelled"),
        (0, 3, "too_late"),
    ],
)
def test_cancel_outcomes(dropped: int, released: int, outcome: str) -> None:
    cancel = NotificationCancel(
        event_id=uuid.uuid4(),
        app_id="testapp",
        occurred_at=ACCEPTED,
        notification_id=uuid.uuid4(),
    )

    result = outcomes.cancel_result(cancel, dropped, released, ACCEPTED)

    assert result.outcome == outcome
    assert result.request_event_id == cancel.event_id
    assert (result.dropped, result.released) == (dropped, released)
