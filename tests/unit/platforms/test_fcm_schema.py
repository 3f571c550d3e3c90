"""The emulator's FCM v1 validation: what FCM accepts passes, what it refuses is refused alike."""

from __future__ import annotations

from typing import Any

import pytest

from services.emulators.fcm.errors import FcmApiError
from services.emulators.fcm.schema import check_size, parse_send_request, payload_size

pytestmark = pytest.mark.unit


def refusal(body: Any) -> FcmApiError:
    with pytest.raises(FcmApiError) as caught:
        parse_send_request(body)
    return caught.value


def test_a_full_message_in_either_field_spelling_is_accepted() -> None:
    body = {
        "validateOnly": True,
        "message": {
            "token": "abc:123",
            "data": {"k": "v"},
            "notification": {"title": "t", "body": "b", "image": "https://i/x.png"},
            "android": {
                "collapseKey": "c",
                "priority": "HIGH",
                "ttl": "3.5s",
                "restricted_package_name": "com.example",
                "data": {"a": "b"},
                "notification": {
                    "title": "t",
                    "body": "b",
                    "icon": "ic",
                    "color": "#ff00aa",
                    "sound": "default",
                    "tag": "c",
                    "clickAction": "OPEN",
                    "body_loc_key": "k",
                    "bodyLocArgs": ["x"],
                    "channel_id": "ch",
                    "notification_count": 4,
                    "eventTime": "2026-01-15T12:00:00.5Z",
                    "visibility": "PRIVATE",
                    "vibrate_timings": ["0.5s", "1s"],
                    "light_settings": {
                        "color": {"red": 1, "green": 0.5, "blue": 0},
                        "light_on_duration": "1s",
                        "light_off_duration": "2s",
                    },
                },
                "fcm_options": {"analytics_label": "campaign-1"},
                "direct_boot_ok": False,
            },
            "apns": {
                "headers": {"apns-priority": "10", "apns-expiration": "0"},
                "payload": {"aps": {"badge": 3, "alert": {"title": "t"}}, "custom": 1},
                "fcm_options": {"image": "https://i/x.png"},
            },
            "webpush": {
                "headers": {"TTL": "60"},
                "data": {"w": "1"},
                "notification": {"title": "t", "actions": [{"action": "a", "title": "A"}]},
                "fcm_options": {"link": "https://example.com/x"},
            },
            "fcm_options": {"analytics_label": "x"},
        },
    }

    parsed = parse_send_request(body)

    assert parsed.validate_only is True
    assert parsed.message.android is not None
    assert parsed.message.android.collapse_key == "c"


@pytest.mark.parametrize(
    ("message", "field", "text"),
    [
        ({}, "message", "Recipient of the message is not set."),
        ({"token": "a", "topic": "b"}, "message", "Oneof field 'target' is already set"),
        ({"token": "a", "color": "red"}, "message", 'Unknown name "color"'),
        ({"token": "a", "android": {"prio": "HIGH"}}, "message.android", 'Unknown name "prio"'),
        ({"token": "a", "data": {"n": 1}}, "message.data.n", "valid string"),
        ({"token": "a", "data": {"from": "x"}}, "message.data", "reserved"),
        ({"token": "a", "data": {"google.x": "x"}}, "message.data", "reserved"),
        ({"token": "a", "data": {"gcm.n": "x"}}, "message.data", "reserved"),
        ({"token": "a", "android": {"priority": "URGENT"}}, "message.android.priority", ""),
        ({"token": "a", "android": {"ttl": "10"}}, "message.android.ttl", ""),
        ({"token": "a", "android": {"ttl": "-1s"}}, "message.android.ttl", ""),
        ({"token": "a", "android": {"ttl": "2419201s"}}, "message.android.ttl", "TTL"),
        ({"token": "a", "android": {"notification": {"color": "red"}}}, "", "color"),
        ({"token": "a", "android": {"notification": {"notification_count": "3"}}}, "", ""),
        ({"token": "a", "android": {"notification": {"visibility": "LOUD"}}}, "", ""),
        ({"token": "a", "apns": {"headers": {"apns-priority": "7"}}}, "message.apns", ""),
        ({"token": "a", "apns": {"payload": {"aps": {"badge": -1}}}}, "message.apns", "badge"),
        ({"token": "a", "apns": {"payload": {"aps": {"badge": "3"}}}}, "message.apns", "badge"),
        ({"token": "a", "webpush": {"fcm_options": {"link": "http://x"}}}, "", ""),
        ({"topic": "bad topic!"}, "message.topic", ""),
        ({"token": "a", "fcm_options": {"analytics_label": "has space"}}, "", ""),
    ],
)
def test_malformed_messages_are_refused_like_fcm(
    message: dict[str, Any], field: str, text: str
) -> None:
    error = refusal({"message": message})
    body = error.body()["error"]

    assert error.code == 400
    assert body["status"] == "INVALID_ARGUMENT"
    assert body["details"][0] == {
        "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
        "errorCode": "INVALID_ARGUMENT",
    }
    violations = body["details"][1]["fieldViolations"]
    assert violations[0]["field"].startswith(field)
    assert text in body["message"]


@pytest.mark.parametrize(
    "body", [[], "x", {}, {"message": {"token": "a"}, "dry_run": True}, {"message": "a"}]
)
def test_malformed_requests_are_refused(body: Any) -> None:
    assert refusal(body).code == 400


def test_payload_size_counts_keys_and_values_the_device_receives() -> None:
    message = {
        "token": "x" * 500,
        "data": {"ab": "cde"},
        "notification": {"title": "é"},
        "android": {"priority": "HIGH", "notification": {"tag": "t"}},
        "apns": {"headers": {"apns-priority": "10"}, "payload": {"aps": {"badge": 12}}},
    }

    assert payload_size(message) == (2 + 3) + (5 + 2) + (3 + 1) + (3 + 5 + 2)


def test_messages_over_4096_bytes_are_too_big() -> None:
    fits = {"token": "a", "data": {"k": "v" * 4095}}
    too_big = {"token": "a", "data": {"k": "v" * 4096}}

    check_size(fits)
    with pytest.raises(FcmApiError, match="too big"):
        check_size(too_big)


def test_topic_messages_have_half_the_room() -> None:
    with pytest.raises(FcmApiError, match="limit is 2048"):
        check_size({"topic": "news", "data": {"k": "v" * 2048}})
