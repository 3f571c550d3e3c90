"""Badge-count's trace steps: counted with the badge it attached, withheld when read first."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.badge_count import traces
from services.badge_count.handlers import counted_event
from tests.support.factories import due

pytestmark = pytest.mark.unit

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def test_counted_carries_the_badge_attached() -> None:
    copy = due(NOW, "ann")

    step = traces.counted(counted_event(copy, 4, 9, NOW))

    assert (step.stage, step.user_id, step.badge) == ("counted", "ann", 4)
    assert step.notification_id == copy.notification_id


def test_a_copy_read_before_it_came_due_is_withheld_as_read_already() -> None:
    copy = due(NOW, "ann", category="news")

    step = traces.read_already(copy, NOW)

    assert (step.stage, step.reason, step.category) == ("withheld", "read_already", "news")
    assert step.event_id == traces.read_already(copy, NOW).event_id
