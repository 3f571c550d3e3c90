"""Web Push rendering: the service worker's JSON, RFC 8030 headers, overrides and the size limit."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from shared.platforms.base import PayloadError
from shared.platforms.webpush.payload import MAX_PLAINTEXT_BYTES, render, topic
from tests.support.clock import FrozenClock
from tests.support.factories import push_request

pytestmark = pytest.mark.unit

NOW = FrozenClock().now()
TOKEN = '{"endpoint":"https://push.example/x","keys":{"p256dh":"p","auth":"a"}}'


def body_of(**fields: Any) -> tuple[dict[str, Any], dict[str, str]]:
    message = render(push_request(NOW, "webpush", TOKEN, **fields), NOW)
    return json.loads(message.plaintext), message.headers


def test_a_visible_push_shows_a_tagged_notification_and_carries_herald_keys() -> None:
    request = push_request(
        NOW,
        "webpush",
        TOKEN,
        content={
            "title": "T",
            "body": "B",
            "image_url": "https://img.example/i.png",
            "deep_link": "https://app.example/o/1",
            "data": {"o": "1"},
        },
        badge=4,
        badge_seq=2,
        options={"collapse_key": "orders", "ttl_seconds": 90, "priority": "normal"},
    )

    message = render(request, NOW + timedelta(seconds=30))
    body = json.loads(message.plaintext)

    assert message.headers == {"TTL": "60", "Urgency": "normal", "Topic": "orders"}
    assert body["notification"] == {
        "title": "T",
        "options": {
            "body": "B",
            "tag": "orders",
            "image": "https://img.example/i.png",
            "data": {
                "herald_notification_id": str(request.notification_id),
                "herald_deep_link": "https://app.example/o/1",
            },
        },
    }
    assert body["data"] == {"o": "1"}
    assert body["herald"]["herald_badge"] == 4
    assert body["herald"]["herald_badge_seq"] == 2


def test_without_a_collapse_key_the_tag_is_the_notification_id() -> None:
    body, headers = body_of(content={"title": "T"})

    assert body["notification"]["options"]["tag"] == body["herald"]["herald_notification_id"]
    assert "Topic" not in headers
    assert headers["TTL"] == "2419200"
    assert headers["Urgency"] == "high"


def test_a_sync_push_carries_only_what_the_worker_needs_to_close_notifications() -> None:
    read = [str(uuid.uuid4()), str(uuid.uuid4())]
    body, headers = body_of(
        content={"title": "T", "data": {"x": "y"}},
        options={"collapse_key": "c"},
        sync={"badge": 1, "badge_seq": 5, "read_notification_ids": read, "all_read": False},
    )

    assert set(body) == {"herald"}
    assert body["herald"]["herald_kind"] == "sync"
    assert body["herald"]["herald_read_ids"] == read
    assert headers["Urgency"] == "normal"
    assert "Topic" not in headers


def test_a_collapse_key_rfc_8030_would_refuse_becomes_a_stable_digest() -> None:
    assert topic("orders-42") == "orders-42"
    long_key = "an order update: #42 / shipped"
    assert topic(long_key) == topic(long_key)
    assert len(topic(long_key)) == 32
    assert topic(long_key).replace("-", "").replace("_", "").isalnum()


def test_overrides_set_headers_and_notification_options() -> None:
    body, headers = body_of(
        content={
            "title": "T",
            "overrides": {
                "webpush": {
                    "headers": {"urgency": "very-low", "TTL": "5", "Topic": "t1"},
                    "notification": {
                        "title": "Shown",
                        "icon": "/i.png",
                        "requireInteraction": True,
                        "data": {"extra": 1},
                    },
                }
            },
        }
    )

    assert headers == {"TTL": "5", "Urgency": "very-low", "Topic": "t1"}
    assert set(body["notification"]) == {"title", "options"}
    assert body["notification"]["title"] == "Shown"
    options = body["notification"]["options"]
    assert options["icon"] == "/i.png"
    assert options["requireInteraction"] is True
    assert options["data"]["extra"] == 1
    assert options["data"]["herald_notification_id"] == body["herald"]["herald_notification_id"]


@pytest.mark.parametrize(
    ("content", "title", "text"),
    [
        ({"title": "T", "body": "B"}, "T", "B"),
        ({"body": "Only a body"}, "Only a body", None),
        ({"title_loc_key": "NEW_MSG", "body_loc_key": "NEW_MSG_BODY"}, "NEW_MSG", "NEW_MSG_BODY"),
        ({"body_loc_key": "NEW_MSG_BODY", "body_loc_args": ["Ann"]}, "NEW_MSG_BODY", None),
    ],
)
def test_a_browser_never_gets_an_empty_title(
    content: dict[str, Any], title: str, text: str | None
) -> None:
    body, _ = body_of(content=content)

    assert body["notification"]["title"] == title
    assert body["notification"]["options"].get("body") == text


def test_localization_keys_reach_the_service_worker() -> None:
    body, _ = body_of(content={"title_loc_key": "NEW_MSG", "title_loc_args": ["Ann"]})

    assert body["notification"]["options"]["data"]["herald_localization"] == {
        "title_loc_key": "NEW_MSG",
        "title_loc_args": ["Ann"],
    }


def test_a_silent_data_push_goes_at_normal_urgency_whatever_its_priority() -> None:
    _, headers = body_of(content={"data": {"k": "v"}}, options={"priority": "high"})

    assert headers["Urgency"] == "normal"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"Authorization": "x"}, "'Authorization' is not supported"),
        ({"Urgency": "now"}, "Urgency must be one of"),
        ({"TTL": "soon"}, "TTL is a number of seconds"),
    ],
)
def test_bad_override_headers_are_refused(headers: dict[str, str], message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        body_of(content={"title": "T", "overrides": {"webpush": {"headers": headers}}})


def test_plaintext_over_3993_bytes_is_refused_with_the_limit() -> None:
    data = {f"k{i}": "x" * 1000 for i in range(4)}

    with pytest.raises(PayloadError, match=f"the limit is {MAX_PLAINTEXT_BYTES} bytes"):
        body_of(content={"title": "T", "data": data})
