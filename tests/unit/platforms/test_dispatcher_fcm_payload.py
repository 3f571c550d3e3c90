"""FCM rendering: what a push request becomes on the wire, and that FCM's schema accepts it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from services.emulators.fcm.schema import check_size, parse_send_request
from shared.platforms.fcm.payload import RenderOptions, render
from tests.support.clock import FrozenClock
from tests.support.factories import push_request

pytestmark = pytest.mark.unit

CLOCK = FrozenClock()
NOW = CLOCK.now()


def rendered(render_options: RenderOptions | None = None, **fields: Any) -> dict[str, Any]:
    body = render(push_request(NOW, "fcm", **fields), NOW, render_options or RenderOptions())
    message: dict[str, Any] = body["message"]
    return message


def test_visible_push_carries_title_body_image_and_token() -> None:
    message = rendered(
        token="tok-1",
        content={"title": "Hi", "body": "There", "image_url": "https://img.example/a.png"},
    )

    assert message["token"] == "tok-1"
    assert message["notification"] == {
        "title": "Hi",
        "body": "There",
        "image": "https://img.example/a.png",
    }
    assert message["apns"]["fcm_options"] == {"image": "https://img.example/a.png"}
    assert message["apns"]["payload"]["aps"]["mutable-content"] == 1


def test_data_holds_app_data_and_herald_fields_as_strings() -> None:
    request = push_request(NOW, "fcm", content={"title": "t", "data": {"order": "42"}}, badge=3)
    request = request.model_copy(update={"badge_seq": 9})

    data = render(request, NOW, RenderOptions())["message"]["data"]

    assert data == {
        "order": "42",
        "herald_kind": "notification",
        "herald_notification_id": str(request.notification_id),
        "herald_badge": "3",
        "herald_badge_seq": "9",
    }


def test_badge_goes_to_android_notification_count_and_aps_badge() -> None:
    message = rendered(badge=5)

    assert message["android"]["notification"]["notification_count"] == 5
    assert message["apns"]["payload"]["aps"]["badge"] == 5


def test_no_badge_leaves_the_badge_alone() -> None:
    message = rendered()

    assert "notification_count" not in message["android"].get("notification", {})
    assert "badge" not in message["apns"]["payload"]["aps"]
    assert "herald_badge" not in message["data"]


@pytest.mark.parametrize(
    ("priority", "android_priority", "apns_priority"),
    [("high", "HIGH", "10"), ("normal", "NORMAL", "5")],
)
def test_priority_maps_to_android_and_apns(
    priority: str, android_priority: str, apns_priority: str
) -> None:
    message = rendered(options={"priority": priority})

    assert message["android"]["priority"] == android_priority
    assert message["apns"]["headers"]["apns-priority"] == apns_priority


def test_collapse_key_sets_android_collapse_key_tag_and_apns_collapse_id() -> None:
    message = rendered(options={"collapse_key": "score"})

    assert message["android"]["collapse_key"] == "score"
    assert message["android"]["notification"]["tag"] == "score"
    assert message["apns"]["headers"]["apns-collapse-id"] == "score"


def test_a_collapse_key_reaches_browsers_as_the_web_push_topic() -> None:
    short = rendered(options={"collapse_key": "score"})
    long = rendered(options={"collapse_key": "the score of match 42 / final"})

    assert short["webpush"]["headers"]["Topic"] == "score"
    assert len(long["webpush"]["headers"]["Topic"]) == 32
    assert "Topic" not in rendered()["webpush"]["headers"]


def test_a_silent_data_push_goes_at_normal_priority_everywhere() -> None:
    message = rendered(content={"data": {"k": "v"}}, options={"priority": "high"})

    assert message["android"]["priority"] == "NORMAL"
    assert message["webpush"]["headers"]["Urgency"] == "normal"
    assert message["apns"]["headers"]["apns-priority"] == "5"


@pytest.mark.parametrize(
    ("content", "shown"),
    [
        ({"body": "Only a body"}, {"title": "Only a body", "body": ""}),
        (
            {"title_loc_key": "NEW", "body_loc_key": "NEW_BODY"},
            {"title": "NEW", "body": "NEW_BODY"},
        ),
        ({"title": "T", "body": "B"}, {}),
    ],
)
def test_browsers_reached_through_fcm_never_get_an_empty_title(
    content: dict[str, Any], shown: dict[str, str]
) -> None:
    notification = rendered(content=content)["webpush"]["notification"]

    assert {k: v for k, v in notification.items() if k != "tag"} == shown


def test_ttl_is_what_is_left_of_it_when_sent() -> None:
    request = push_request(NOW, "fcm", options={"ttl_seconds": 600})
    later = NOW + timedelta(seconds=100)

    message = render(request, later, RenderOptions())["message"]

    assert message["android"]["ttl"] == "500s"
    expected_expiry = int((NOW + timedelta(seconds=600)).timestamp())
    assert message["apns"]["headers"]["apns-expiration"] == str(expected_expiry)


def test_ttl_zero_means_now_or_never_on_both_platforms() -> None:
    message = rendered(options={"ttl_seconds": 0})

    assert message["android"]["ttl"] == "0s"
    assert message["apns"]["headers"]["apns-expiration"] == "0"


def test_no_ttl_leaves_the_provider_default() -> None:
    message = rendered()

    assert "ttl" not in message["android"]
    assert "apns-expiration" not in message["apns"]["headers"]


def test_sound_category_thread_and_channel() -> None:
    message = rendered(
        RenderOptions(android_channel_id="alerts"),
        content={"title": "t", "sound": "ding", "category": "REPLY", "thread_id": "chat-1"},
    )

    assert message["android"]["notification"] == {
        "tag": str(message["data"]["herald_notification_id"]),
        "sound": "ding",
        "click_action": "REPLY",
        "channel_id": "alerts",
    }
    aps = message["apns"]["payload"]["aps"]
    assert (aps["sound"], aps["category"], aps["thread-id"]) == ("ding", "REPLY", "chat-1")


def test_deep_link_travels_in_data() -> None:
    message = rendered(content={"title": "t", "deep_link": "app://orders/42"})

    assert message["data"]["herald_deep_link"] == "app://orders/42"


def test_no_title_or_body_makes_a_data_only_background_push() -> None:
    message = rendered(content={"data": {"sync": "1"}}, options={"priority": "high"})

    assert "notification" not in message
    assert "notification" not in message["android"]
    assert message["apns"]["headers"]["apns-priority"] == "5"
    assert message["apns"]["headers"]["apns-push-type"] == "background"
    assert message["apns"]["payload"]["aps"] == {"content-available": 1}


def test_silent_badge_sync_updates_the_ios_badge() -> None:
    message = rendered(content={}, badge=0)

    assert message["apns"]["headers"]["apns-push-type"] == "alert"
    assert message["apns"]["payload"]["aps"] == {"badge": 0, "content-available": 1}
    assert message["data"]["herald_badge"] == "0"


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"badge": 12, "options": {"priority": "normal", "ttl_seconds": 60, "collapse_key": "k"}},
        {"content": {"data": {"a": "b"}}},
        {"content": {}, "badge": 1},
        {"sync": {"badge": 0, "badge_seq": 3, "all_read": True}},
        {
            "content": {
                "title_loc_key": "k",
                "body_loc_args": ["x"],
                "overrides": {"android": {"notification": {"color": "#00ff00"}}},
            }
        },
        {
            "content": {
                "title": "t" * 256,
                "body": "b" * 2048,
                "image_url": "https://img.example/x.png",
                "sound": "s",
                "category": "c",
                "thread_id": "th",
                "deep_link": "app://x",
                "data": {"k": "v"},
            },
            "badge": 3,
        },
    ],
)
def test_every_rendering_passes_fcm_validation(fields: dict[str, Any]) -> None:
    body = render(push_request(NOW, "fcm", **fields), NOW, RenderOptions(android_channel_id="c"))

    parsed = parse_send_request(body)
    check_size(body["message"])

    assert parsed.message.token == body["message"]["token"]


def test_a_sync_push_is_data_only_with_the_reads_and_the_ios_badge() -> None:
    read = [uuid.uuid4(), uuid.uuid4()]
    message = rendered(
        content={"title": "ignored", "data": {"app": "x"}},
        options={"collapse_key": "k", "priority": "high"},
        sync={"badge": 2, "badge_seq": 7, "read_notification_ids": read, "all_read": False},
    )

    assert "notification" not in message
    assert "notification" not in message["android"]
    assert message["android"]["priority"] == "NORMAL"
    assert message["data"] == {
        "herald_kind": "sync",
        "herald_notification_id": message["data"]["herald_notification_id"],
        "herald_badge": "2",
        "herald_badge_seq": "7",
        "herald_read_ids": f"{read[0]},{read[1]}",
        "herald_all_read": "false",
    }
    assert message["apns"]["headers"] == {"apns-priority": "5", "apns-push-type": "alert"}
    assert message["apns"]["payload"]["aps"] == {"badge": 2}
    assert "notification" not in message["webpush"]


def test_a_sync_push_that_wakes_the_app_has_no_badge_for_ios() -> None:
    message = rendered(sync={"badge": 2, "badge_seq": 7, "all_read": True, "wake_app": True})

    assert message["apns"]["headers"] == {"apns-priority": "5", "apns-push-type": "background"}
    assert message["apns"]["payload"]["aps"] == {"content-available": 1}
    assert message["data"]["herald_badge"] == "2"


def test_a_visible_push_is_tagged_by_collapse_key_or_notification_id() -> None:
    tagged = rendered(content={"title": "t"}, options={"collapse_key": "score"})
    untagged = rendered(content={"title": "t"})

    assert tagged["webpush"]["notification"]["tag"] == "score"
    assert untagged["android"]["notification"]["tag"] == untagged["data"]["herald_notification_id"]
    assert untagged["webpush"]["notification"]["tag"] == untagged["data"]["herald_notification_id"]


def test_localized_text_and_interruption_level_reach_android_and_ios() -> None:
    message = rendered(
        content={
            "title_loc_key": "T",
            "title_loc_args": ["a"],
            "body_loc_key": "B",
            "body_loc_args": ["b", "c"],
            "subtitle": "sub",
            "interruption_level": "time-sensitive",
        }
    )

    notification = message["android"]["notification"]
    assert (notification["title_loc_key"], notification["body_loc_args"]) == ("T", ["b", "c"])
    aps = message["apns"]["payload"]["aps"]
    assert aps["alert"] == {
        "subtitle": "sub",
        "title-loc-key": "T",
        "title-loc-args": ["a"],
        "loc-key": "B",
        "loc-args": ["b", "c"],
    }
    assert aps["interruption-level"] == "time-sensitive"


def test_overrides_are_merged_over_each_platform_block() -> None:
    message = rendered(
        content={
            "title": "t",
            "overrides": {
                "android": {"notification": {"color": "#ff0000"}, "direct_boot_ok": True},
                "apns": {
                    "headers": {"apns-priority": "5"},
                    "payload": {"aps": {"relevance-score": 0.5}},
                },
                "webpush": {"headers": {"Urgency": "low"}, "notification": {"icon": "/i.png"}},
            },
        },
        badge=4,
    )

    assert message["android"]["notification"]["color"] == "#ff0000"
    assert message["android"]["notification"]["notification_count"] == 4
    assert message["android"]["direct_boot_ok"] is True
    assert message["apns"]["headers"]["apns-priority"] == "5"
    assert message["apns"]["payload"]["aps"]["relevance-score"] == 0.5
    assert message["apns"]["payload"]["aps"]["badge"] == 4
    assert message["webpush"]["headers"]["Urgency"] == "low"
    assert message["webpush"]["notification"] == {
        "tag": message["data"]["herald_notification_id"],
        "icon": "/i.png",
    }


def test_validate_only_asks_fcm_to_check_without_sending() -> None:
    body = render(push_request(NOW, "fcm"), NOW, RenderOptions(validate_only=True))

    assert body["validate_only"] is True
