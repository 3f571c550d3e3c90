"""Ingest's limits check against the renderers the dispatchers send with, for every platform.

For random content and options, whatever the check accepts renders within its provider's limit
with any badge, sequence, notification id and Android channel id Herald could use; and the size
the check measures is never below what a dispatcher renders, in the default text and in every
localized variant (each as the registry puts it on a push). Action buttons and localization keys
are generated like every other field.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.content import RESERVED_DATA_PREFIXES, Content, DeliveryOptions
from contracts.push import PLATFORMS as PLATFORM_NAMES
from contracts.push import Platform, PushRequest
from shared.platforms import PLATFORMS
from shared.platforms.apns import payload as apns
from shared.platforms.base import PayloadError
from shared.platforms.fcm import payload as fcm
from shared.platforms.limits import MAX_BADGE, MAX_BADGE_SEQ, largest_push, payload_breaches
from shared.platforms.webpush import payload as webpush
from tests.support.clock import FrozenClock

pytestmark = pytest.mark.unit

NOW = FrozenClock().now()
SIZE = re.compile(r"payload is (\d+) bytes")

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
    st.sampled_from([*sorted(apns.OVERRIDABLE_HEADERS), "x-custom"]),
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
variants = st.dictionaries(
    st.sampled_from(["fr", "pt", "pt-BR", "zh-Hant-TW"]),
    st.fixed_dictionaries(
        {"title": text(256, min_size=1)}, optional={"body": text(2048), "subtitle": text(256)}
    ),
    max_size=3,
)
buttons = st.lists(
    st.fixed_dictionaries(
        {"id": st.from_regex(r"[a-z]{1,8}", fullmatch=True), "title": text(64, min_size=1)},
        optional={"deep_link": text(2048, min_size=1), "icon_url": images},
    ),
    max_size=3,
    unique_by=lambda action: str(action["id"]),
)


def shown_when_needed(fields: dict[str, Any]) -> dict[str, Any]:
    """Variants and buttons need a visible notification, and buttons a category."""
    if fields.get("localized") or fields.get("actions"):
        fields = {**fields, "title": fields.get("title") or "T"}
    if fields.get("actions"):
        fields = {**fields, "category": fields.get("category") or "C"}
    return fields


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
        "localized": variants,
        "actions": buttons,
    },
).map(shown_when_needed)
option_values = st.fixed_dictionaries(
    {},
    optional={
        "priority": st.sampled_from(["high", "normal"]),
        "ttl_seconds": st.integers(0, 2_419_200),
        "collapse_key": text(64, min_size=1).filter(str.isprintable),
    },
)
#: Values a dispatcher adds to the content, often at their largest (where a weak check breaks).
badges = st.one_of(st.none(), st.just(MAX_BADGE), st.integers(0, MAX_BADGE))
badge_seqs = st.one_of(st.none(), st.just(MAX_BADGE_SEQ), st.integers(0, MAX_BADGE_SEQ))
LONGEST_CHANNEL = "~" * fcm.MAX_ANDROID_CHANNEL_ID_BYTES
channels = st.one_of(
    st.none(),
    st.just(LONGEST_CHANNEL),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=64),
)

#: What each dispatcher does with a push: render it as it sends it, and give the size its
#: provider counts (raising PayloadError, as the dispatcher would refuse it).
Dispatch = Callable[[PushRequest, str | None], int]
DISPATCH: dict[Platform, Dispatch] = {
    "apns": lambda request, _: apns.render(request, NOW).size,
    "fcm": lambda request, channel: fcm.payload_size(
        fcm.render(request, NOW, fcm.RenderOptions(android_channel_id=channel))["message"]
    ),
    "webpush": lambda request, _: len(webpush.render(request, NOW).plaintext),
}


def dispatched(
    platform: Platform, request: PushRequest, channel: str | None
) -> tuple[int | None, str | None]:
    """The size the dispatcher renders (also when too large), and why it refused, if it did."""
    try:
        return DISPATCH[platform](request, channel), None
    except PayloadError as error:
        found = SIZE.search(str(error))
        return (int(found[1]) if found else None), str(error)


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


def test_every_platform_is_checked_and_dispatched() -> None:
    assert set(PLATFORMS) == set(PLATFORM_NAMES) == set(DISPATCH)


def near_the_limit(
    content: Content, options: DeliveryOptions, platform: Platform, offset: int
) -> Content:
    """``content`` padded with data so the check measures it ``offset`` bytes from the platform's
    limit, where a check that is a little too generous would let a push through."""
    rules = PLATFORMS[platform]
    if any(rules.content_breaches(content)) or len(content.data) > 56:
        return content
    if any(rules.refusals(largest_push(content, options), NOW)):
        return content
    measured = rules.largest(largest_push(content, options), NOW)
    missing = measured.limit + offset - measured.size
    data = dict(content.data)
    for index in range(8):
        if missing <= 16:
            break
        data[f"zpad{index}"] = "x" * min(1000, missing - 16)
        padded = content.model_copy(update={"data": data})
        measured = rules.largest(largest_push(padded, options), NOW)
        missing = measured.limit + offset - measured.size
    last = next((key for key in reversed(data) if key.startswith("zpad")), None)
    if last is not None and 0 < len(data[last]) + missing <= 1024:
        data[last] = "x" * (len(data[last]) + missing)
    return content.model_copy(update={"data": data})


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    content_fields=contents,
    option_fields=option_values,
    offset=optional(st.integers(-40, 40)),
    badge=badges,
    badge_seq=badge_seqs,
    channel=channels,
)
def test_what_the_check_accepts_the_dispatcher_sends_and_never_renders_larger(
    platform: Platform,
    content_fields: dict[str, Any],
    option_fields: dict[str, Any],
    offset: int | None,
    badge: int | None,
    badge_seq: int | None,
    channel: str | None,
) -> None:
    options = DeliveryOptions.model_validate(option_fields)
    content = Content.model_validate(content_fields)
    if offset is not None:
        content = near_the_limit(content, options, platform, offset)
    accepted = not list(payload_breaches(content, options))
    for locale in (None, *content.localized):
        shown = content.in_locale(locale)
        request = push(shown, options, badge=badge, badge_seq=badge_seq, locale=locale)
        largest = push(shown, options, badge=MAX_BADGE, badge_seq=MAX_BADGE_SEQ, locale=locale)

        size, refused = dispatched(platform, request, channel)
        _, largest_refused = dispatched(platform, largest, LONGEST_CHANNEL)

        if accepted:
            assert refused is None, f"{platform} refused what ingest accepts: {refused}"
            assert largest_refused is None, f"{platform} refused it: {largest_refused}"
        rules = PLATFORMS[platform]
        measured = largest_push(shown, options, locale)
        refused_anyway = any(rules.content_breaches(shown)) or any(rules.refusals(measured, NOW))
        if size is not None and not refused_anyway:
            assert rules.largest(measured, NOW).size >= size


def largest_body_that_fits() -> int:
    low, high = 0, 2048
    while low < high:
        middle = (low + high + 1) // 2
        content = Content(title="T", body="€" * middle, deep_link="app://x")
        fits = not list(payload_breaches(content, DeliveryOptions()))
        low, high = (middle, high) if fits else (low, middle - 1)
    return low


def test_at_the_edge_the_largest_push_fits_and_one_more_character_is_refused() -> None:
    size = largest_body_that_fits()
    content = Content(title="T", body="€" * size, deep_link="app://x")
    request = push(content, DeliveryOptions(), badge=MAX_BADGE, badge_seq=MAX_BADGE_SEQ)
    bigger = Content(title="T", body="€" * (size + 1), deep_link="app://x")

    sizes = {name: DISPATCH[name](request, LONGEST_CHANNEL) for name in DISPATCH}
    refused = list(payload_breaches(bigger, DeliveryOptions()))

    assert sizes["webpush"] <= webpush.MAX_PLAINTEXT_BYTES < sizes["webpush"] + 3
    assert [b.field for b in refused] == ["content"]
    assert "for Web Push (plaintext of one 4096-byte aes128gcm record)" in refused[0].message
    assert "the limit is 3993 bytes" in refused[0].message


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

    assert [b.field for b in payload_breaches(content, DeliveryOptions())] == [field]


def test_the_apns_key_aps_is_refused_in_data() -> None:
    content = Content(title="T", data={"aps": "x"})

    breaches = list(payload_breaches(content, DeliveryOptions()))

    assert [b.field for b in breaches] == ["content.data.aps"]
