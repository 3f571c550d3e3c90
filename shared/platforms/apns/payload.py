"""A push request rendered as an APNs notification: headers and the JSON payload. Pure.

Visible pushes are ``alert`` pushes (priority 10, or 5 for normal priority). Silent data pushes
wake the app (content-available, priority 5): ``background`` pushes, or ``alert`` ones when they
also set the badge. Action buttons are the category's that the app registered (``aps.category``);
their ids, titles and links travel as a custom key beside ``aps`` for the app to act on a tap. A
badge-sync push is badge-only (``alert``, just ``aps.badge``) unless it must
wake the app to remove notifications (``background``, no badge: Apple forbids it there). The
content's APNs override (payload keys, as in FCM v1's ApnsConfig, and the delivery headers in
``OVERRIDABLE_HEADERS``) is merged last; the transport headers (topic, push type, id, credentials)
stay Herald's, since they decide which app and connection a push belongs to.
Reference: "Generating a remote notification" and "Sending notification requests to APNs",
developer.apple.com/documentation/usernotifications.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.push import PushRequest
from shared.platforms import fields
from shared.platforms.base import Measure, PayloadError, compact, deep_merge
from shared.platforms.ttl import deadline, remaining_ttl

MAX_PAYLOAD_BYTES = 4096
#: apns-collapse-id: "The value of this key must not exceed 64 bytes" (Apple, "Sending notification
#: requests to APNs"); bytes of UTF-8, not characters.
MAX_COLLAPSE_ID_BYTES = 64
PRIORITIES = frozenset({"1", "5", "10"})
OVERRIDABLE_HEADERS = frozenset({"apns-priority", "apns-collapse-id", "apns-expiration"})


@dataclass(frozen=True)
class ApnsMessage:
    """One notification request: the JSON payload and the headers aioapns sends for it.

    ``time_to_live``: seconds APNs may keep the push; 0 is "deliver once or never" (apns-expiration
    0), None leaves Apple's default. Every push goes to the app's own bundle id (apns-topic).
    """

    payload: dict[str, Any]
    push_type: str
    priority: int
    collapse_id: str | None
    time_to_live: int | None

    @property
    def size(self) -> int:
        """Bytes of the payload as aioapns encodes it."""
        return len(json.dumps(self.payload, ensure_ascii=False).encode())

    @property
    def limit(self) -> int:
        """The most payload bytes APNs takes for the push types Herald sends."""
        return MAX_PAYLOAD_BYTES

    def measure(self) -> Measure:
        return Measure(self.size, self.limit, f"JSON payload, apns-push-type {self.push_type}")


def render(request: PushRequest, now: datetime) -> ApnsMessage:
    """The APNs notification for ``request``; raise PayloadError when APNs would refuse it."""
    message = build(request, now)
    size, limit = message.size, message.limit
    if size > limit:
        raise PayloadError(
            f"APNs payload is {size} bytes; the limit is {limit} bytes "
            f"for {message.push_type} pushes"
        )
    return message


def build(request: PushRequest, now: datetime) -> ApnsMessage:
    """The notification for ``request`` whatever its size; raise PayloadError on a bad override."""
    quiet = request.sync is not None or not request.content.visible
    aps = _quiet_aps(request) if quiet else _alert_aps(request)
    payload: dict[str, Any] = {"aps": aps}
    push_type = "background" if quiet and "badge" not in aps else "alert"
    if request.sync is None:
        if "aps" in request.content.data:
            raise PayloadError("data key 'aps' is APNs' own; choose another key")
        payload.update(request.content.data)
    payload.update(fields.herald_fields(request))
    buttons = None if quiet else fields.actions(request.content)
    if buttons is not None:
        payload[fields.ACTIONS_KEY] = buttons
    headers = {
        "apns-priority": "10" if not quiet and request.options.priority == "high" else "5",
        "apns-collapse-id": request.options.collapse_key,
    }
    override = request.content.overrides.apns if request.content.overrides else None
    if override is not None and request.sync is None:
        unknown = sorted(set(override.headers) - OVERRIDABLE_HEADERS)
        if unknown:
            raise PayloadError(f"APNs override headers not supported: {', '.join(unknown)}")
        headers.update(override.headers)
        payload = deep_merge(payload, override.payload)
    return ApnsMessage(
        payload=payload,
        push_type=push_type,
        priority=_priority(headers["apns-priority"]),
        collapse_id=_collapse_id(headers["apns-collapse-id"]),
        time_to_live=_time_to_live(request, now, headers.get("apns-expiration")),
    )


def _alert_aps(request: PushRequest) -> dict[str, Any]:
    content = request.content
    alert = compact(
        {
            "title": content.title,
            "subtitle": content.subtitle,
            "body": content.body,
            "title-loc-key": content.title_loc_key,
            "title-loc-args": content.title_loc_args or None,
            "loc-key": content.body_loc_key,
            "loc-args": content.body_loc_args or None,
        }
    )
    return compact(
        {
            "alert": alert,
            "badge": request.badge,
            "sound": content.sound,
            "thread-id": content.thread_id,
            "category": content.category,
            "mutable-content": 1 if content.image_url else None,
            "interruption-level": content.interruption_level,
        }
    )


def _quiet_aps(request: PushRequest) -> dict[str, Any]:
    """What a push without an alert asks of iOS: set the badge, wake the app, or both."""
    sync = request.sync
    if sync is not None:
        return {"content-available": 1} if sync.wake_app else {"badge": sync.badge}
    return compact({"content-available": 1, "badge": request.badge})


def _collapse_id(value: str | None) -> str | None:
    """Spaces at either end are dropped, as Herald's own HTTP/2 client drops them from every
    header: HTTP/2 refuses a field value that has them (RFC 9113 8.2.1), and APNs would reset
    every attempt. A collapse id of nothing but spaces is no collapse id."""
    if value is not None:
        value = value.strip(" ") or None
    if value is not None and len(value.encode()) > MAX_COLLAPSE_ID_BYTES:
        raise PayloadError(
            f"apns-collapse-id is {len(value.encode())} bytes in UTF-8; "
            f"APNs takes at most {MAX_COLLAPSE_ID_BYTES}"
        )
    return value


def _priority(value: str | None) -> int:
    if value not in PRIORITIES:
        raise PayloadError(f"apns-priority must be 1, 5 or 10, not {value!r}")
    return int(value)


def _time_to_live(request: PushRequest, now: datetime, expiration: str | None) -> int | None:
    """Seconds APNs may keep the push (the adapter sends now + this as apns-expiration, or 0).

    An explicit apns-expiration override wins (0, or a time already past, is "deliver once or
    never"); a TTL of 0, or one used up, means the same.
    """
    if expiration is not None:
        if not expiration.isdigit():
            raise PayloadError(f"apns-expiration must be a UNIX time, not {expiration!r}")
        return max(0, int(expiration) - int(now.timestamp()))
    if deadline(request) is None:
        return None
    return remaining_ttl(request, now)
