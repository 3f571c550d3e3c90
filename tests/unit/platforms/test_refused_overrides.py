"""Every per-platform override a provider refuses is refused at ingest, naming its field.

Each case is shown twice: the provider refuses it (the emulator's rules, fed the push Herald
renders with the override merged as FCM v1 merges it, before any check of Herald's own), and
ingest refuses the request that carries it. The emulators' rules live in shared/platforms, so the
second follows from the first; this list is what keeps it so.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from contracts.content import Content, DeliveryOptions, NotificationRequest
from contracts.push import Platform, PushRequest
from services.emulators.apns.errors import ApnsReject
from services.emulators.apns.rules import check as apns_check
from services.emulators.fcm.errors import FcmApiError
from services.emulators.fcm.schema import parse_send_request
from services.emulators.webpush.checks import PushRefused, check_headers
from services.ingest import domain
from shared.platforms.apns import payload as apns
from shared.platforms.base import deep_merge
from shared.platforms.fcm import payload as fcm
from shared.platforms.limits import carries_badge
from shared.platforms.webpush import payload as webpush
from tests.support.clock import FrozenClock
from tests.support.factories import apns_token, push_request

pytestmark = pytest.mark.unit

NOW = FrozenClock().now()
TOPIC = "com.example.app"


@dataclass(frozen=True)
class Case:
    name: str
    content: dict[str, Any]
    #: The provider that refuses it and its reason (Apple's reason, FCM's message, RFC 8030's).
    refused_by: str
    field: str
    options: dict[str, Any] = dataclasses.field(default_factory=dict)


SILENT = {"data": {"k": "v"}}


def _apns(headers: dict[str, str] | None = None, payload: dict[str, Any] | None = None) -> Any:
    return {"apns": {"headers": headers or {}, "payload": payload or {}}}


CASES = [
    Case(
        "background push at priority 10",
        {**SILENT, "overrides": _apns({"apns-priority": "10"})},
        "apns:BadPriority",
        "content.overrides.apns.headers.apns-priority",
    ),
    Case(
        "priority neither 1, 5 nor 10",
        {"title": "T", "overrides": _apns({"apns-priority": "7"})},
        "apns:BadPriority",
        "content.overrides.apns.headers.apns-priority",
    ),
    Case(
        "expiration not a UNIX time",
        {"title": "T", "overrides": _apns({"apns-expiration": "tomorrow"})},
        "apns:BadExpirationDate",
        "content.overrides.apns.headers.apns-expiration",
    ),
    Case(
        "collapse id over 64 bytes",
        {"title": "T", "overrides": _apns({"apns-collapse-id": "c" * 65})},
        "apns:BadCollapseId",
        "content.overrides.apns.headers.apns-collapse-id",
    ),
    Case(
        "apns block without aps",
        {"title": "T", "overrides": _apns(payload={"aps": None})},
        "apns:PayloadEmpty",
        "content.overrides.apns.payload.aps",
    ),
    Case(
        "aps that is not a dictionary",
        {"title": "T", "overrides": _apns(payload={"aps": "alert"})},
        "apns:PayloadEmpty",
        "content.overrides.apns.payload.aps",
    ),
    Case(
        "push type that needs its own topic",
        {"title": "T", "overrides": _apns({"apns-push-type": "voip"})},
        "apns:BadTopic",
        "content.overrides.apns.headers.apns-push-type",
    ),
    Case(
        "another app's topic",
        {"title": "T", "overrides": _apns({"apns-topic": "com.other.app"})},
        "apns:TopicDisallowed",
        "content.overrides.apns.headers.apns-topic",
    ),
    Case(
        "a second apns-id",
        {"title": "T", "overrides": _apns({"apns-id": str(uuid.uuid4())})},
        "apns:DuplicateHeaders",
        "content.overrides.apns.headers.apns-id",
    ),
    Case(
        "badge that is not a number (FCM's apns block)",
        {"title": "T", "overrides": _apns(payload={"aps": {"badge": "three"}})},
        "fcm",
        "content.overrides.apns",
    ),
    Case(
        "data message to Apple at priority 10 (FCM)",
        {**SILENT, "overrides": _apns({"apns-priority": "10"})},
        "fcm",
        "content.overrides.apns.headers.apns-priority",
        options={"badge": "increment"},
    ),
    Case(
        "unknown FCM field",
        {"title": "T", "overrides": {"android": {"priorty": "HIGH"}}},
        "fcm",
        "content.overrides.android",
    ),
    Case(
        "non-string FCM data",
        {"title": "T", "overrides": {"android": {"data": {"count": 1}}}},
        "fcm",
        "content.overrides.android.data.count",
    ),
    Case(
        "android.ttl over four weeks",
        {"title": "T", "overrides": {"android": {"ttl": "2419201s"}}},
        "fcm",
        "content.overrides.android.ttl",
    ),
    Case(
        "android.ttl not a duration",
        {"title": "T", "overrides": {"android": {"ttl": "1d"}}},
        "fcm",
        "content.overrides.android.ttl",
    ),
    Case(
        "android priority FCM does not know",
        {"title": "T", "overrides": {"android": {"priority": "URGENT"}}},
        "fcm",
        "content.overrides.android.priority",
    ),
    Case(
        "notification colour not #rrggbb",
        {"title": "T", "overrides": {"android": {"notification": {"color": "red"}}}},
        "fcm",
        "content.overrides.android.notification.color",
    ),
    Case(
        "negative notification count",
        {"title": "T", "overrides": {"android": {"notification": {"notification_count": -1}}}},
        "fcm",
        "content.overrides.android.notification.notification_count",
    ),
    Case(
        "data key FCM reserves",
        {"title": "T", "overrides": {"android": {"data": {"google.sent": "1"}}}},
        "fcm",
        "content.overrides.android.data",
    ),
    Case(
        "Web Push urgency outside RFC 8030",
        {"title": "T", "overrides": {"webpush": {"headers": {"Urgency": "asap"}}}},
        "webpush",
        "content.overrides.webpush.headers.Urgency",
    ),
    Case(
        "Web Push TTL not in seconds",
        {"title": "T", "overrides": {"webpush": {"headers": {"TTL": "soon"}}}},
        "webpush",
        "content.overrides.webpush.headers.TTL",
    ),
]


def push(platform: Platform, case: Case, token: str) -> PushRequest:
    """The push as Herald renders it without the overrides (they are merged by each provider's
    own rule below, so Herald's checks cannot hide what the provider would say), with a badge
    when badge-count would attach one."""
    content = {key: value for key, value in case.content.items() if key != "overrides"}
    badge = (
        1
        if carries_badge(
            Content.model_validate(content), DeliveryOptions.model_validate(case.options)
        )
        else None
    )
    return push_request(NOW, platform, token, content=content, badge=badge)


def apns_refusal(case: Case) -> str | None:
    override = case.content.get("overrides", {}).get("apns")
    if override is None:
        return None
    token = apns_token()
    plain = push("apns", case, token)
    message = apns.render(plain, NOW)
    headers = [
        ("apns-id", str(plain.event_id)),
        ("apns-topic", TOPIC),
        ("apns-push-type", message.push_type),
        ("apns-priority", str(message.priority)),
    ]
    sent = [(name, value) for name, value in headers if name not in override["headers"]]
    if override["headers"].get("apns-id"):
        sent = headers
    sent += list(override["headers"].items())
    body = json.dumps(deep_merge(message.payload, override["payload"])).encode()
    try:
        apns_check(sent, token, body, [TOPIC])
    except ApnsReject as reject:
        return f"apns:{reject.reason}"
    return None


def fcm_refusal(case: Case) -> str | None:
    overrides = case.content.get("overrides", {})
    body = fcm.render(push("fcm", case, "fcm-token-1"), NOW, fcm.RenderOptions())
    message = body["message"]
    for block in ("android", "apns", "webpush"):
        if block in overrides:
            message[block] = deep_merge(message[block], overrides[block])
    try:
        parse_send_request(body)
    except FcmApiError:
        return "fcm"
    return None


def webpush_refusal(case: Case) -> str | None:
    override = case.content.get("overrides", {}).get("webpush")
    if override is None:
        return None
    rendered = webpush.render(push("webpush", case, "{}"), NOW)
    headers = {name.lower(): value for name, value in rendered.headers.items()}
    headers |= {name.lower(): value for name, value in override["headers"].items()}
    try:
        check_headers(headers | {"content-encoding": "aes128gcm"})
    except PushRefused:
        return "webpush"
    return None


REFUSERS: list[Callable[[Case], str | None]] = [
    apns_refusal,
    fcm_refusal,
    webpush_refusal,
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_provider_refuses_it(case: Case) -> None:
    verdicts = {refuse(case) for refuse in REFUSERS} - {None}

    assert case.refused_by in verdicts


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_ingest_refuses_it_naming_the_field(case: Case) -> None:
    request = NotificationRequest.model_validate(
        {
            "idempotency_key": "k",
            "audience": {"user_ids": ["u"]},
            "content": case.content,
            "options": case.options,
        }
    )

    with pytest.raises(domain.RequestProblem) as caught:
        domain.check(request, max_content_bytes=4000)

    assert caught.value.field == case.field, caught.value


def test_the_list_holds_every_kind_the_issue_names() -> None:
    assert len(CASES) >= 15
    assert {case.refused_by.split(":")[0] for case in CASES} == {"apns", "fcm", "webpush"}
