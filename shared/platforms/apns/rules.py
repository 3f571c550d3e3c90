"""What APNs accepts: the rules Apple applies to a notification request on receipt, each with its
reason, which the APNs emulator enforces and ingest applies to every push it renders (so the two
cannot drift); the override headers and data keys a request may carry; a device token's shape.

References: "Sending notification requests to APNs" (headers, push types, topics, sizes) and
"Handling notification responses from APNs" (reasons), developer.apple.com/documentation/
usernotifications.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.content import Content
from contracts.push import PushRequest
from shared.platforms.apns.payload import (
    MAX_COLLAPSE_ID_BYTES,
    MAX_PAYLOAD_BYTES,
    OVERRIDABLE_HEADERS,
    PRIORITIES,
    build,
)
from shared.platforms.base import Breach, Measure, PayloadError, TokenRule

#: Apple's device tokens are opaque bytes of variable length (32 today), sent as hex.
TOKEN = TokenRule("apns", 64, 200, re.compile(r"[0-9a-f]+"), "hexadecimal digits")
MAX_VOIP_PAYLOAD_BYTES = 5120
APNS_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
#: Push types and the suffix their apns-topic must carry (bundle id + suffix).
TOPIC_SUFFIXES = {
    "alert": "",
    "background": "",
    "location": ".location-query",
    "voip": ".voip",
    "complication": ".complication",
    "fileprovider": ".pushkit.fileprovider",
    "mdm": "",
    "liveactivity": ".push-type.liveactivity",
    "pushtopic": "",
    "widgets": ".push-type.widgets",
    "controls": ".push-type.controls",
}
#: Headers that say which app, connection and request a push is: Herald's alone.
TRANSPORT_HEADERS = frozenset({"apns-topic", "apns-push-type", "apns-id", "authorization"})
_OVERRIDES = "content.overrides.apns"


@dataclass(frozen=True)
class Refusal:
    """What APNs answers a request it refuses: the status, Apple's reason, and why."""

    status: int
    reason: str
    detail: str
    header: str | None = None


class ApnsRefused(ValueError):
    """A request APNs would refuse."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(f"{refusal.status} {refusal.reason}: {refusal.detail}")
        self.refusal = refusal


@dataclass(frozen=True)
class Checked:
    """A request that passed every rule."""

    apns_id: str | None
    topic: str
    push_type: str
    priority: int
    expiration: int | None
    collapse_id: str | None
    payload: dict[str, Any]


def check_request(
    headers: Sequence[tuple[str, str]], token: str, body: bytes, allowed_topics: Sequence[str]
) -> Checked:
    """Apply APNs' rules in the order Apple reports them; raise ApnsRefused on the first broken."""
    counts = Counter(name for name, _ in headers if name.startswith("apns-"))
    if any(count > 1 for count in counts.values()):
        raise ApnsRefused(Refusal(400, "DuplicateHeaders", "an apns- header appears twice"))
    values = dict(headers)
    if not re.fullmatch(r"[0-9a-fA-F]{64,200}", token):
        raise ApnsRefused(Refusal(400, "BadDeviceToken", "not a device token"))
    apns_id = values.get("apns-id")
    if apns_id is not None and not APNS_ID.match(apns_id):
        raise ApnsRefused(Refusal(400, "BadMessageId", "apns-id is not a UUID", "apns-id"))
    push_type = values.get("apns-push-type", "alert")
    topic = values.get("apns-topic")
    refusal = (
        push_type_refusal(push_type)
        or topic_refusal(topic, push_type, allowed_topics)
        or priority_refusal(values.get("apns-priority"), push_type)
        or expiration_refusal(values.get("apns-expiration"))
        or collapse_id_refusal(values.get("apns-collapse-id"))
        or payload_refusal(body, push_type)
    )
    if refusal is not None:
        raise ApnsRefused(refusal)
    priority = values.get("apns-priority")
    expiration = values.get("apns-expiration")
    return Checked(
        apns_id=apns_id,
        topic=topic or "",
        push_type=push_type,
        priority=int(priority) if priority else (5 if push_type == "background" else 10),
        expiration=None if expiration is None else int(expiration),
        collapse_id=values.get("apns-collapse-id"),
        payload=json.loads(body),
    )


def push_type_refusal(push_type: str) -> Refusal | None:
    if push_type not in TOPIC_SUFFIXES:
        return Refusal(400, "InvalidPushType", f"{push_type!r} is no push type", "apns-push-type")
    return None


def topic_refusal(
    topic: str | None, push_type: str, allowed_topics: Sequence[str]
) -> Refusal | None:
    if not topic:
        return Refusal(400, "MissingTopic", "apns-topic is required", "apns-topic")
    suffix = TOPIC_SUFFIXES[push_type]
    if suffix and not topic.endswith(suffix):
        return Refusal(400, "BadTopic", f"{push_type} pushes go to <bundle id>{suffix}")
    bundle = topic[: len(topic) - len(suffix)] if suffix else topic
    if allowed_topics and bundle not in allowed_topics:
        return Refusal(400, "TopicDisallowed", f"{bundle} is not this key's app", "apns-topic")
    return None


def priority_refusal(value: str | None, push_type: str) -> Refusal | None:
    """1, 5 or 10; a background push takes 5 or 1, never 10 (Apple: "apns-priority")."""
    if value is None:
        return None
    if value not in PRIORITIES:
        return Refusal(400, "BadPriority", "must be 1, 5 or 10", "apns-priority")
    if push_type == "background" and value == "10":
        detail = "must be 5 or 1 for a background push (a silent push that sets no badge), not 10"
        return Refusal(400, "BadPriority", detail, "apns-priority")
    return None


def expiration_refusal(value: str | None) -> Refusal | None:
    """A UNIX time in seconds, or 0 for "deliver once or never" (Apple: "apns-expiration")."""
    if value is not None and not (value.isascii() and value.isdigit()):
        detail = "must be a UNIX time in seconds, or 0"
        return Refusal(400, "BadExpirationDate", detail, "apns-expiration")
    return None


def collapse_id_refusal(value: str | None) -> Refusal | None:
    """At most 64 bytes (Apple: "apns-collapse-id ... must not exceed 64 bytes")."""
    if value is not None and len(value.encode()) > MAX_COLLAPSE_ID_BYTES:
        detail = (
            f"is {len(value.encode())} bytes in UTF-8; "
            f"APNs takes at most {MAX_COLLAPSE_ID_BYTES} bytes (apns-collapse-id)"
        )
        return Refusal(400, "BadCollapseId", detail, "apns-collapse-id")
    return None


def payload_refusal(body: bytes, push_type: str) -> Refusal | None:
    """A JSON object whose ``aps`` (when present) is a dictionary, within the push type's limit."""
    if not body:
        return Refusal(400, "PayloadEmpty", "the payload is empty")
    limit = MAX_VOIP_PAYLOAD_BYTES if push_type == "voip" else MAX_PAYLOAD_BYTES
    if len(body) > limit:
        return Refusal(413, "PayloadTooLarge", f"{len(body)} bytes; the limit is {limit}")
    try:
        payload = json.loads(body)
    except ValueError:
        return Refusal(400, "PayloadEmpty", "the payload is not JSON")
    if not isinstance(payload, dict) or not isinstance(payload.get("aps", {}), dict):
        return Refusal(400, "PayloadEmpty", "aps must be a dictionary")
    return None


def canonical_token(token: str, webpush_hosts: Sequence[str]) -> str:
    """The token as Herald stores it: apps spell hex in either case, so it is lower-cased and the
    same token never becomes two devices (the hosts are Web Push's concern)."""
    return TOKEN.check(token.lower())


def content_breaches(content: Content) -> Iterator[Breach]:
    """Data keys and override headers the APNs renderer refuses, each naming its field."""
    if "aps" in content.data:
        yield Breach("content.data.aps", "'aps' is APNs' own payload key; choose another key")
    override = content.overrides.apns if content.overrides else None
    if override is None:
        return
    allowed = ", ".join(sorted(OVERRIDABLE_HEADERS))
    for name in sorted(override.headers):
        if name in TRANSPORT_HEADERS:
            yield Breach(
                f"{_OVERRIDES}.headers.{name}",
                "a transport header Herald sets itself (the app's topic, the push type, the "
                f"request id, the credentials); overrides may set {allowed}",
            )
        elif name not in OVERRIDABLE_HEADERS:
            yield Breach(
                f"{_OVERRIDES}.headers.{name}",
                f"not an APNs header Herald sets (allowed: {allowed})",
            )


def refusals(request: PushRequest, now: datetime) -> Iterator[Breach]:
    """What APNs would refuse in ``request`` rendered, by the rules the emulator applies; each
    names the field of the request it comes from."""
    override = request.content.overrides.apns if request.content.overrides else None
    sent = override.headers if override is not None else {}
    alone = [
        (name, refusal)
        for name, refusal in (
            ("apns-priority", priority_refusal(sent.get("apns-priority"), "alert")),
            ("apns-expiration", expiration_refusal(sent.get("apns-expiration"))),
            ("apns-collapse-id", collapse_id_refusal(sent.get("apns-collapse-id"))),
        )
        if refusal is not None
    ]
    for name, refusal in alone:
        yield Breach(f"{_OVERRIDES}.headers.{name}", _told(refusal))
    collapse_key = collapse_id_refusal(request.options.collapse_key)
    if collapse_key is not None and "apns-collapse-id" not in sent:
        yield Breach("options.collapse_key", _told(collapse_key))
    if alone or collapse_key is not None:
        return
    try:
        message = build(request, now)
    except PayloadError as error:
        yield Breach(_OVERRIDES, str(error))
        return
    priority = priority_refusal(str(message.priority), message.push_type)
    if priority is not None:
        field = f"{_OVERRIDES}.headers.apns-priority" if "apns-priority" in sent else _OVERRIDES
        yield Breach(field, _told(priority))
    payload = payload_refusal(json.dumps(message.payload).encode(), "alert")
    if payload is not None and payload.status != 413:  # sizes: measured on the largest push
        yield Breach(f"{_OVERRIDES}.payload.aps", _told(payload))


def _told(refusal: Refusal) -> str:
    return f"{refusal.detail} (APNs refuses it: {refusal.reason})"


def largest(request: PushRequest, now: datetime) -> Measure:
    """``request`` rendered by the real renderer and measured as APNs counts it."""
    return build(request, now).measure()
