"""A stage that repeats a step after a crash repeats its event id, so the tracker counts it once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from contracts.trace import NotificationTraced

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
NOTIFICATION = uuid.uuid4()
DEVICE = uuid.uuid4()


def sent(attempt: int, device: uuid.UUID = DEVICE) -> NotificationTraced:
    return NotificationTraced.step(
        "sent",
        app_id="shop",
        notification_id=NOTIFICATION,
        occurred_at=NOW,
        user_id="alice",
        device_id=device,
        platform="fcm",
        outcome="delivered",
        attempt=attempt,
    )


def test_the_same_step_for_the_same_device_and_attempt_has_the_same_id() -> None:
    assert sent(1).event_id == sent(1).event_id


def test_another_attempt_or_device_is_another_event() -> None:
    assert len({sent(1).event_id, sent(2).event_id, sent(1, uuid.uuid4()).event_id}) == 3


def test_a_new_verdict_for_the_same_attempt_is_another_event() -> None:
    failed = NotificationTraced.step(
        "sent",
        app_id="shop",
        notification_id=NOTIFICATION,
        occurred_at=NOW,
        user_id="alice",
        device_id=DEVICE,
        platform="fcm",
        outcome="failed",
        attempt=1,
    )
    assert failed.event_id != sent(1).event_id


def test_parks_by_two_stages_of_one_users_copy_are_two_events() -> None:
    parks = {
        NotificationTraced.step(
            "parked",
            app_id="shop",
            notification_id=NOTIFICATION,
            occurred_at=NOW,
            user_id="alice",
            reason=reason,
        ).event_id
        for reason in ("scheduler: undecodable", "badge-count: undecodable")
    }
    assert len(parks) == 2
