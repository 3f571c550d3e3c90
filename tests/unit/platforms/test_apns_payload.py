"""APNs rendering: alert pushes, quiet pushes, sync pushes, overrides and the size limit."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from shared.platforms.apns.payload import render
from shared.platforms.base import PayloadError
from tests.support.clock import FrozenClock
from tests.support.factories import push_request

pytestmark = pytest.mark.unit

NOW = FrozenClock().now()


def test_a_visible_push_is_an_alert_with_every_aps_field_and_herald_keys() -> None:
    request = push_request(
        NOW,
        "apns",
        content={
            "title": "T",
            "subtitle": "S",
            "body": "B",
            "title_loc_key": "TK",
            "title_loc_args": ["1"],
            "body_loc_key": "BK",
            "body_loc_args": ["2"],
            "sound": "ding.caf",
            "thread_id": "chat-7",
            "category": "REPLY",
            "image_url": "https://img.example/x.png",
            "interruption_level": "time-sensitive",
            "deep_link": "app://x",
            "data": {"order": "42"},
        },
        badge=5,
        badge_seq=9,
        options={"collapse_key": "c", "priority": "high", "ttl_seconds": 600},
    )

    message = render(request, NOW)

    assert (message.push_type, message.priority, message.collapse_id) == ("alert", 10, "c")
    assert message.time_to_live == 600
    assert message.payload == {
        "aps": {
            "alert": {
                "title": "T",
                "subtitle": "S",
                "body": "B",
                "title-loc-key": "TK",
                "title-loc-args": ["1"],
                "loc-key": "BK",
                "loc-args": ["2"],
            },
            "badge": 5,
            "sound": "ding.caf",
            "thread-id": "chat-7",
            "category": "REPLY",
            "mutable-content": 1,
            "interruption-level": "time-sensitive",
        },
        "order": "42",
        "herald_kind": "notification",
        "herald_notification_id": str(request.notification_id),
        "herald_badge": 5,
        "herald_badge_seq": 9,
        "herald_deep_link": "app://x",
        "herald_image_url": "https://img.example/x.png",
    }


def test_normal_priority_alert_goes_at_priority_5() -> None:
    assert render(push_request(NOW, "apns", options={"priority": "normal"}), NOW).priority == 5


def test_the_ttl_left_is_what_apns_may_keep_it_for() -> None:
    request = push_request(NOW, "apns", options={"ttl_seconds": 600})

    assert render(request, NOW + timedelta(seconds=100)).time_to_live == 500
    assert render(push_request(NOW, "apns"), NOW).time_to_live is None


def test_a_silent_push_wakes_the_app_in_the_background() -> None:
    message = render(push_request(NOW, "apns", content={"data": {"k": "v"}}), NOW)

    assert (message.push_type, message.priority) == ("background", 5)
    assert message.payload["aps"] == {"content-available": 1}
    assert message.payload["k"] == "v"


def test_a_silent_push_that_sets_the_badge_is_an_alert_push_without_alert() -> None:
    message = render(push_request(NOW, "apns", content={}, badge=2), NOW)

    assert (message.push_type, message.priority) == ("alert", 5)
    assert message.payload["aps"] == {"content-available": 1, "badge": 2}


def sync_request(**sync: Any) -> Any:
    read = [uuid.uuid4()]
    values = {"badge": 3, "badge_seq": 11, "read_notification_ids": read, **sync}
    return push_request(NOW, "apns", content={"title": "ignored", "data": {"x": "y"}}, sync=values)


def test_a_badge_only_sync_push_sets_the_badge_and_carries_the_reads() -> None:
    request = sync_request(read_up_to=NOW.isoformat())

    message = render(request, NOW)

    assert (message.push_type, message.priority, message.collapse_id) == ("alert", 5, None)
    assert message.payload["aps"] == {"badge": 3}
    assert "x" not in message.payload
    assert message.payload["herald_kind"] == "sync"
    assert message.payload["herald_badge_seq"] == 11
    assert message.payload["herald_read_ids"] == [
        str(i) for i in request.sync.read_notification_ids
    ]
    assert message.payload["herald_read_up_to"] == NOW.isoformat()
    assert message.payload["herald_all_read"] is False


def test_a_sync_push_that_wakes_the_app_is_background_without_badge() -> None:
    message = render(sync_request(wake_app=True, all_read=True), NOW)

    assert (message.push_type, message.priority) == ("background", 5)
    assert message.payload["aps"] == {"content-available": 1}
    assert message.payload["herald_badge"] == 3
    assert message.payload["herald_all_read"] is True


def test_overrides_change_headers_and_merge_payload_keys() -> None:
    request = push_request(
        NOW,
        "apns",
        content={
            "title": "t",
            "overrides": {
                "apns": {
                    "headers": {
                        "apns-priority": "5",
                        "apns-expiration": str(int(NOW.timestamp()) + 60),
                    },
                    "payload": {"aps": {"relevance-score": 0.7}, "extra": {"a": 1}},
                }
            },
        },
        badge=1,
    )

    message = render(request, NOW)

    assert message.priority == 5
    assert message.time_to_live == 60
    assert message.payload["aps"]["relevance-score"] == 0.7
    assert message.payload["aps"]["badge"] == 1
    assert message.payload["extra"] == {"a": 1}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"headers": {"apns-id": "x"}}, "override headers not supported: apns-id"),
        ({"headers": {"apns-push-type": "voip"}}, "not supported: apns-push-type"),
        ({"headers": {"apns-topic": "other.app"}}, "not supported: apns-topic"),
        ({"headers": {"authorization": "bearer x"}}, "not supported: authorization"),
        ({"headers": {"apns-priority": "7"}}, "apns-priority must be 1, 5 or 10"),
        ({"headers": {"apns-collapse-id": "c" * 65}}, "65 bytes in UTF-8; APNs takes at most 64"),
    ],
)
def test_bad_overrides_are_refused(override: dict[str, Any], message: str) -> None:
    request = push_request(NOW, "apns", content={"title": "t", "overrides": {"apns": override}})

    with pytest.raises(PayloadError, match=message):
        render(request, NOW)


def test_a_payload_over_4096_bytes_is_refused_with_the_limit() -> None:
    data = {f"k{i}": "x" * 1000 for i in range(5)}

    with pytest.raises(PayloadError, match="the limit is 4096 bytes for alert pushes"):
        render(push_request(NOW, "apns", content={"title": "t", "data": data}), NOW)


def test_a_collapse_key_counts_in_bytes() -> None:
    fits = push_request(NOW, "apns", options={"collapse_key": "é" * 32})
    over = push_request(NOW, "apns", options={"collapse_key": "é" * 33})

    assert render(fits, NOW).collapse_id == "é" * 32
    with pytest.raises(PayloadError, match="apns-collapse-id is 66 bytes"):
        render(over, NOW)


@pytest.mark.parametrize(
    ("options", "override", "collapse_id"),
    [
        ({"collapse_key": " sale "}, None, "sale"),
        ({"collapse_key": "   "}, None, None),
        ({}, {"apns": {"headers": {"apns-collapse-id": "sale "}}}, "sale"),
        ({"collapse_key": "big sale"}, None, "big sale"),
    ],
)
def test_a_collapse_id_goes_without_spaces_at_either_end(
    options: dict[str, Any], override: dict[str, Any] | None, collapse_id: str | None
) -> None:
    content = {"title": "t", "overrides": override} if override else {"title": "t"}
    request = push_request(NOW, "apns", options=options, content=content)

    assert render(request, NOW).collapse_id == collapse_id


def test_a_ttl_of_zero_is_deliver_once_or_never() -> None:
    request = push_request(NOW, "apns", options={"ttl_seconds": 0})

    assert render(request, NOW + timedelta(seconds=3)).time_to_live == 0


def test_app_data_may_not_shadow_aps() -> None:
    with pytest.raises(PayloadError, match="'aps'"):
        render(push_request(NOW, "apns", content={"title": "t", "data": {"aps": "x"}}), NOW)
