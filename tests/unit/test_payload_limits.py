"""contracts.limits against the dispatchers' real renderers: the estimate is never too small.

For random content and options, each platform's estimate is at least the size its renderer
produces with any badge, sequence, notification id and channel id Herald could use, and whatever
the dispatcher refuses, ingest refuses first.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import limits
from contracts.content import RESERVED_DATA_PREFIXES, Content, DeliveryOptions
from contracts.push import PushRequest
from services.dispatcher.platforms.apns import payload as apns
from services.dispatcher.platforms.fcm import payload as fcm
from services.dispatcher.platforms.webpush import payload as webpush
from tests.support.clock import FrozenClock

pytestmark = pytest.mark.unit

NOW = FrozenClock().now()
SIZE = re.compile(r"payload is (\d+) bytes")
#: What badge-count can attach: its unread count is a PostgreSQL integer, the sequence a bigint.
LARGEST_BADGE = 2**31 - 1
LARGEST_BADGE_SEQ = 2**63 - 1

chars = st.characters(codec="utf-8")
tricky = st.sampled_from(['"', "\\", "\n", "\x01", "é", "€", "😀", "a", "<", "\u2028"])


def text(max_size: int, min_size: int = 0) -> st.SearchStrategy[str]:
    """Short random text, or one character repeated up to the field's limit (to reach the edge)."""
    repeated = st.tuples(st.one_of(tricky, chars), st.integers(min_size, max_size)).map(
        lambda pair: pair[0] * pair[1]
    )
    return st.one_of(st.text(chars, min_size=min_size, max_size=min(max_size, 24)), repeated)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


data_keys = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True),
    text(64, min_size=1),
    st.just("aps"),
).filter(lambda key: not key.lower().startswith(RESERVED_DATA_PREFIXES))
data_keys = data_keys.filter(lambda key: key not in {"from", "notification", "message_type"})
printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text(300),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["aps", "alert", "badge", "x", "notification"]), children)
    ),
    max_leaves=8,
)
json_objects = st.dictionaries(
    st.sampled_from(["aps", "data", "notification", "custom", "priority"]), json_values, max_size=3
)
apns_headers = st.dictionaries(
    st.sampled_from([*sorted(limits.APNS_HEADERS), "x-custom"]),
    st.one_of(
        st.sampled_from(["alert", "background", "voip", "bogus", "1", "5", "10", "3", "999"]),
        printable,
    ),
    max_size=3,
)
webpush_headers = st.dictionaries(
    st.sampled_from(["TTL", "ttl", "Urgency", "urgency", "Topic", "X-Other"]),
    st.one_of(st.sampled_from(["60", "high", "very-low", "soon", "news"]), printable),
    max_size=3,
)
overrides = st.fixed_dictionaries(
    {},
    optional={
        "android": json_objects,
        "apns": st.fixed_dictionaries({"headers": apns_headers, "payload": json_objects}),
        "webpush": st.fixed_dictionaries(
            {"headers": webpush_headers, "notification": json_objects}
        ),
    },
)
images = st.sampled_from(
    [
        "https://img.example/x.png",
        "https://exämple.de/päth/ü?q=ü ü",
        "https://cdn.example/" + "p" * 1900,
    ]
)
loc_args = st.lists(text(256), max_size=16)
contents = st.fixed_dictionaries(
    {},
    optional={
        "title": text(256),
        "body": text(2048),
        "subtitle": text(256),
        "data": st.dictionaries(data_keys, text(1024), max_size=8),
        "image_url": images,
        "sound": text(64, min_size=1),
        "deep_link": text(2048, min_size=1),
        "thread_id": text(64, min_size=1),
        "category": text(64, min_size=1),
        "title_loc_key": text(128, min_size=1),
        "title_loc_args": loc_args,
        "body_loc_key": text(128, min_size=1),
        "body_loc_args": loc_args,
        "interruption_level": st.sampled_from(["passive", "active", "time-sensitive"]),
        "overrides": overrides,
    },
)
option_values = st.fixed_dictionaries(
    {},
    optional={
        "priority": st.sampled_from(["high", "normal"]),
        "ttl_seconds": st.integers(0, 2_419_200),
        "collapse_key": text(64, min_size=1),
    },
)
channels = optional(
    text(64, min_size=1).filter(lambda c: len(c.encode()) <= limits.MAX_ANDROID_CHANNEL_ID_BYTES)
)


@dataclass(frozen=True)
class Rendered:
    """What a dispatcher made of a push: its size (also when too large), or why it refused."""

    size: int | None
    refused: str | None


def rendered(request: PushRequest, channel: str | None) -> dict[str, Rendered]:
    """Every platform's renderer on the same request."""
    renderers: dict[str, Callable[[], int]] = {
        "APNs": lambda: apns.render(request, NOW).size,
        "FCM": lambda: fcm.payload_size(
            fcm.render(request, NOW, fcm.RenderOptions(android_channel_id=channel))["message"]
        ),
        "Web Push": lambda: len(webpush.render(request, NOW).plaintext),
    }
    outcomes: dict[str, Rendered] = {}
    for platform, render in renderers.items():
        try:
            outcomes[platform] = Rendered(render(), None)
        except (apns.PayloadError, fcm.PayloadError, webpush.PayloadError) as error:
            size = SIZE.search(str(error))
            outcomes[platform] = Rendered(int(size[1]) if size else None, str(error))
    return outcomes


def push(content: Content, options: DeliveryOptions, **fields: Any) -> PushRequest:
    return PushRequest(
        event_id=uuid.uuid4(),
        app_id="app",
        occurred_at=NOW,
        notification_id=fields.pop("notification_id", uuid.uuid4()),
        user_id="u",
        device_id=uuid.uuid4(),
        platform="fcm",
        token="t" * 64,
        content=content,
        options=options,
        accepted_at=NOW - timedelta(seconds=5),
        **fields,
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    content_fields=contents,
    option_fields=option_values,
    badge=optional(st.integers(0, LARGEST_BADGE)),
    badge_seq=optional(st.integers(0, LARGEST_BADGE_SEQ)),
    channel=channels,
)
def test_the_estimate_is_never_smaller_and_refuses_all_the_dispatchers_refuse(
    content_fields: dict[str, Any],
    option_fields: dict[str, Any],
    badge: int | None,
    badge_seq: int | None,
    channel: str | None,
) -> None:
    content = Content.model_validate(content_fields)
    options = DeliveryOptions.model_validate(option_fields)
    estimates = {e.platform: e for e in limits.estimates(content, options)}
    breaches = list(limits.payload_breaches(content, options))

    outcomes = rendered(push(content, options, badge=badge, badge_seq=badge_seq), channel)

    for platform, outcome in outcomes.items():
        if outcome.size is not None:
            assert estimates[platform].size >= outcome.size, platform
        if outcome.refused is not None:
            assert breaches, f"{platform} refused what ingest accepts: {outcome.refused}"


def largest_body_that_fits() -> int:
    low, high = 0, 2048
    while low < high:
        middle = (low + high + 1) // 2
        content = Content(title="T", body="€" * middle, deep_link="app://x")
        fits = not list(limits.payload_breaches(content, DeliveryOptions()))
        low, high = (middle, high) if fits else (low, middle - 1)
    return low


def test_at_the_worst_case_the_estimate_is_exact_and_one_more_character_is_refused() -> None:
    size = largest_body_that_fits()
    content = Content(title="T", body="€" * size, deep_link="app://x")
    request = push(content, DeliveryOptions(), badge=LARGEST_BADGE, badge_seq=LARGEST_BADGE_SEQ)
    estimates = {e.platform: e.size for e in limits.estimates(content, DeliveryOptions())}

    outcomes = rendered(request, "c" * limits.MAX_ANDROID_CHANNEL_ID_BYTES)
    bigger = Content(title="T", body="€" * (size + 1), deep_link="app://x")
    refused = list(limits.payload_breaches(bigger, DeliveryOptions()))

    assert {p: o.size for p, o in outcomes.items()} == estimates
    assert all(o.refused is None for o in outcomes.values())
    assert [b.field for b in refused] == ["content"]
    assert "for Web Push" in refused[0].message
    assert "the limit is 3993 bytes" in refused[0].message


def test_the_limits_are_the_dispatchers_own() -> None:
    assert limits.APNS_PAYLOAD_BYTES == apns.MAX_PAYLOAD_BYTES
    assert limits.APNS_VOIP_PAYLOAD_BYTES == apns.MAX_VOIP_PAYLOAD_BYTES
    assert limits.APNS_HEADERS == apns.OVERRIDABLE_HEADERS
    assert limits.APNS_PUSH_TYPES == apns.PUSH_TYPES
    assert limits.FCM_PAYLOAD_BYTES == fcm.MAX_PAYLOAD_BYTES
    assert limits.WEBPUSH_PLAINTEXT_BYTES == webpush.MAX_PLAINTEXT_BYTES
    assert set(webpush.OVERRIDABLE_HEADERS) == limits.WEBPUSH_HEADERS
    assert limits.WEBPUSH_URGENCIES == webpush.URGENCIES


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"apns": {"headers": {"x-custom": "1"}}}, "content.overrides.apns.headers.x-custom"),
        (
            {"apns": {"headers": {"apns-push-type": "bogus"}}},
            "content.overrides.apns.headers.apns-push-type",
        ),
        (
            {"apns": {"headers": {"apns-priority": "3"}}},
            "content.overrides.apns.headers.apns-priority",
        ),
        (
            {"apns": {"headers": {"apns-expiration": "soon"}}},
            "content.overrides.apns.headers.apns-expiration",
        ),
        ({"webpush": {"headers": {"X-Other": "1"}}}, "content.overrides.webpush.headers.X-Other"),
        ({"webpush": {"headers": {"Urgency": "now"}}}, "content.overrides.webpush.headers.Urgency"),
        ({"webpush": {"headers": {"TTL": "1h"}}}, "content.overrides.webpush.headers.TTL"),
    ],
)
def test_overrides_a_dispatcher_refuses_are_named(overrides: dict[str, Any], field: str) -> None:
    content = Content.model_validate({"title": "T", "overrides": overrides})

    assert [b.field for b in limits.payload_breaches(content, DeliveryOptions())] == [field]


def test_the_apns_key_aps_is_refused_in_data() -> None:
    content = Content(title="T", data={"aps": "x"})

    breaches = list(limits.payload_breaches(content, DeliveryOptions()))

    assert [b.field for b in breaches] == ["content.data.aps"]
