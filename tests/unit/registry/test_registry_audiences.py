"""The registry's audience rules: per-user events from a page of matches, stream progress, tags."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from contracts.base import derived_id
from contracts.notifications import NotificationAudience
from services.registry.audiences.domain import (
    LimitReached,
    Match,
    Progress,
    merged_tags,
    user_events,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 6, 1, tzinfo=UTC)
A, B, C = (uuid.UUID(int=n) for n in (1, 2, 3))


def audience() -> NotificationAudience:
    return NotificationAudience.model_validate(
        {
            "event_id": uuid.uuid4(),
            "app_id": "shop",
            "occurred_at": NOW,
            "notification_id": uuid.uuid4(),
            "audience": {"topic": "news"},
            "content": {"title": "Hi"},
            "accepted_at": NOW,
            "category": "news",
            "transactional": True,
        }
    )


def test_each_user_of_a_page_gets_one_event_naming_only_their_matched_devices() -> None:
    sent = audience()
    page = [Match("ana", B), Match("ana", A), Match("bo", C)]

    events = user_events(sent, page, NOW)

    assert [(e.user_id, e.device_ids) for e in events] == [("ana", [A, B]), ("bo", [C])]
    for event in events:
        assert event.event_id == derived_id(sent.notification_id, event.user_id)
        assert (event.category, event.transactional) == ("news", True)


def test_progress_moves_past_the_last_user_and_ends_on_a_short_page() -> None:
    full = Progress().then([Match("ana", A), Match("ana", B), Match("bo", C)], 2, page_users=2)
    last = full.then([], 0, page_users=2)

    assert full == Progress("bo", 2, 3, finished=False)
    assert last == Progress("bo", 2, 3, finished=True)


def test_tags_merge_remove_with_null_and_refuse_past_the_limit() -> None:
    assert merged_tags({"a": "1", "b": "2"}, {"a": None, "c": "3"}, 2, "user") == {
        "b": "2",
        "c": "3",
    }
    with pytest.raises(LimitReached) as caught:
        merged_tags({"a": "1"}, {"b": "2", "c": "3"}, 2, "device")

    assert caught.value.field == "tags"
    assert "3 tags; the limit is 2 per device" in str(caught.value)
