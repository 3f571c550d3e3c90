"""Merging badge changes into one sync, choosing recipients, and the APNs wake budget."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts.badges import BadgeChanged
from services.registry.reads.domain import (
    MAX_SYNC_IDS,
    PendingSync,
    WakeBudget,
    merge,
    spend_wake,
    sync_recipients,
    sync_request,
)
from tests.support.factories import device

pytestmark = pytest.mark.unit

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
WINDOW = timedelta(seconds=1)
A, B = uuid.uuid4(), uuid.uuid4()


def change(
    seq: int, badge: int, by: uuid.UUID | None, ids: int = 1, **extra: object
) -> BadgeChanged:
    return BadgeChanged.model_validate(
        {
            "event_id": uuid.uuid4(),
            "app_id": "app",
            "occurred_at": NOW,
            "user_id": "u",
            "badge": badge,
            "badge_seq": seq,
            "read_notification_ids": [uuid.uuid4() for _ in range(ids)],
            "reported_by_device": by,
            **extra,
        }
    )


def test_a_burst_merges_into_the_newest_badge_with_all_ids() -> None:
    first = merge(None, change(5, 3, A), last_sent_seq=None, now=NOW, window=WINDOW)
    later = NOW + timedelta(milliseconds=400)
    merged = merge(first, change(6, 2, A), last_sent_seq=None, now=later, window=WINDOW)

    assert merged is not None
    assert (merged.badge, merged.badge_seq, len(merged.read_ids)) == (2, 6, 2)
    assert merged.flush_at == NOW + WINDOW
    assert merged.excluded_device == A


def test_an_older_change_arriving_late_keeps_the_newer_badge() -> None:
    newer = merge(None, change(9, 1, A), last_sent_seq=None, now=NOW, window=WINDOW)
    merged = merge(newer, change(8, 4, A), last_sent_seq=None, now=NOW, window=WINDOW)

    assert merged is not None
    assert (merged.badge, merged.badge_seq) == (1, 9)


def test_a_change_devices_already_have_is_dropped() -> None:
    assert merge(None, change(3, 0, A), last_sent_seq=3, now=NOW, window=WINDOW) is None


def test_reads_from_two_devices_sync_everyone() -> None:
    first = merge(None, change(1, 1, A), last_sent_seq=None, now=NOW, window=WINDOW)
    merged = merge(first, change(2, 0, B), last_sent_seq=None, now=NOW, window=WINDOW)

    assert merged is not None
    assert merged.excluded_device is None


def test_ids_are_capped_keeping_the_newest() -> None:
    first = merge(None, change(1, 1, A, ids=80), last_sent_seq=None, now=NOW, window=WINDOW)
    second = change(2, 0, A, ids=80)
    merged = merge(first, second, last_sent_seq=None, now=NOW, window=WINDOW)

    assert merged is not None
    assert len(merged.read_ids) == MAX_SYNC_IDS
    assert merged.read_ids[-80:] == tuple(second.read_notification_ids)


def pending(**fields: object) -> PendingSync:
    values: dict[str, object] = {
        "app_id": "app",
        "user_id": "u",
        "badge": 2,
        "badge_seq": 7,
        "read_ids": (),
        "read_up_to": None,
        "all_read": False,
        "only_reporter": None,
        "mixed_reporters": False,
        "first_change_at": NOW,
        "flush_at": NOW,
    }
    values.update(fields)
    return PendingSync(**values)  # type: ignore[arg-type]


def test_the_reporting_device_gets_no_sync_and_others_get_a_quiet_push() -> None:
    reporter = device(NOW, user_id="u", app_id="app", platform="fcm")
    other = device(NOW, user_id="u", app_id="app", platform="apns", apns_environment="sandbox")
    stranger = device(NOW, user_id="someone-else", app_id="app", platform="fcm")
    burst = pending(only_reporter=reporter.device_id)

    recipients = sync_recipients(burst, [reporter, other, stranger])
    request = sync_request(burst, other, NOW, wake_app=False)

    assert recipients == [other]
    assert request.sync is not None
    assert (request.sync.badge, request.sync.badge_seq, request.badge) == (2, 7, 2)
    assert not request.content.visible
    assert request.options.collapse_key == "herald-badge-sync"
    assert request.apns_environment == "sandbox"
    assert request.event_id != sync_request(burst, other, NOW, wake_app=True).event_id
    assert request.event_id == sync_request(burst, other, NOW, wake_app=False).event_id


def test_wake_budget_allows_a_few_per_hour_then_resets() -> None:
    budget = None
    for _ in range(2):
        budget = spend_wake(budget, NOW, per_hour=2)
        assert budget is not None

    assert spend_wake(budget, NOW + timedelta(minutes=59), per_hour=2) is None
    assert spend_wake(budget, NOW + timedelta(hours=1), per_hour=2) == WakeBudget(
        NOW + timedelta(hours=1), 1
    )
    assert spend_wake(None, NOW, per_hour=0) is None
