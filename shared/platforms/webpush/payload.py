"""A push request rendered as a Web Push message: the JSON the service worker gets, and headers.

The service worker calls ``showNotification(notification.title, notification.options)`` (options
tagged so a later push replaces it and a sync push can close it) and reads Herald's keys from
``herald``. Buttons are the options' ``actions`` (NotificationAction objects), with each one's
link in ``data`` for the worker's notificationclick handler; a localized variant sets ``lang``.
The title is never empty (``fields.browser_text``). An override's notification is
shaped as FCM v1's WebpushConfig.notification (one flat Notification object): its ``title`` becomes
the title, every other key an option. Silent data pushes and sync pushes go out at normal urgency
(browsers may penalise high-urgency pushes that show nothing). A sync push carries only
``herald``: the badge and which notifications to close. Pure: the caller passes time.
References: RFC 8030 (TTL, Urgency, Topic), RFC 8291 section 4 (3993 bytes of plaintext fit one
4096-byte aes128gcm record).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.push import PushRequest
from shared.platforms import fields
from shared.platforms.base import Measure, PayloadError, compact, deep_merge
from shared.platforms.ttl import remaining_ttl

MAX_PLAINTEXT_BYTES = 3993
COUNTED = "plaintext of one 4096-byte aes128gcm record"
MAX_TTL_SECONDS = 2_419_200
URGENCIES = frozenset({"very-low", "low", "normal", "high"})
TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
OVERRIDABLE_HEADERS = {"ttl": "TTL", "urgency": "Urgency", "topic": "Topic"}


@dataclass(frozen=True)
class WebPushMessage:
    """The plaintext to encrypt and the RFC 8030 headers to send with it."""

    plaintext: bytes
    headers: dict[str, str]

    def measure(self) -> Measure:
        """The plaintext's size and the most one record carries."""
        return Measure(len(self.plaintext), MAX_PLAINTEXT_BYTES, COUNTED)


def render(request: PushRequest, now: datetime) -> WebPushMessage:
    """The message for ``request``; raise PayloadError when it breaks a Web Push limit."""
    message = build(request, now)
    if len(message.plaintext) > MAX_PLAINTEXT_BYTES:
        raise PayloadError(
            f"Web Push payload is {len(message.plaintext)} bytes; the limit is "
            f"{MAX_PLAINTEXT_BYTES} bytes of plaintext (one 4096-byte aes128gcm record)"
        )
    return message


def build(request: PushRequest, now: datetime) -> WebPushMessage:
    """The message for ``request`` whatever its size; raise PayloadError on a bad override."""
    body: dict[str, Any] = {"herald": fields.herald_fields(request)}
    visible = request.sync is None and request.content.visible
    headers = {
        "TTL": str(_ttl(request, now)),
        "Urgency": "high" if visible and request.options.priority == "high" else "normal",
    }
    if request.sync is None:
        body["data"] = dict(request.content.data)
        if request.content.visible:
            body["notification"] = _notification(request)
        if request.options.collapse_key is not None:
            headers["Topic"] = topic(request.options.collapse_key)
        override = request.content.overrides.webpush if request.content.overrides else None
        if override is not None:
            headers.update(_override_headers(override.headers))
            if "notification" in body:
                body["notification"] = _with_override(body["notification"], override.notification)
    plaintext = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return WebPushMessage(plaintext, headers)


def _notification(request: PushRequest) -> dict[str, Any]:
    content = request.content
    title, text = fields.browser_text(content)
    data: dict[str, Any] = {fields.NOTIFICATION_ID_KEY: str(request.notification_id)}
    if content.deep_link is not None:
        data[fields.DEEP_LINK_KEY] = content.deep_link
    localization = fields.localization(content)
    if localization is not None:
        data[fields.LOCALIZATION_KEY] = localization
    buttons = fields.actions(content)
    if buttons is not None:
        data[fields.ACTIONS_KEY] = buttons
    options = compact(
        {
            "body": text,
            "tag": fields.tag(request),
            "image": None if content.image_url is None else str(content.image_url),
            "lang": request.locale,
            "actions": fields.notification_actions(content),
            "data": data,
        }
    )
    return {"title": title, "options": options}


def _with_override(notification: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``notification`` with an FCM-shaped override merged in: title to the title, the rest
    (icon, requireInteraction, actions...) into the options showNotification takes."""
    options = {key: value for key, value in override.items() if key != "title"}
    merged = {
        "title": notification["title"],
        "options": deep_merge(notification["options"], options),
    }
    title = override.get("title")
    if isinstance(title, str) and title:
        merged["title"] = title
    return merged


def topic(collapse_key: str) -> str:
    """The Topic header for a collapse key: the key itself when RFC 8030 allows it (at most 32
    base64url characters), else a stable 32-character digest of it."""
    if TOPIC.match(collapse_key):
        return collapse_key
    digest = hashlib.sha256(collapse_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:32]


def _ttl(request: PushRequest, now: datetime) -> int:
    """RFC 8030 requires TTL; without one Herald asks for the longest push services keep (28 d)."""
    ttl = remaining_ttl(request, now)
    return MAX_TTL_SECONDS if ttl is None else min(ttl, MAX_TTL_SECONDS)


def _override_headers(headers: dict[str, str]) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for name, value in headers.items():
        canonical = OVERRIDABLE_HEADERS.get(name.lower())
        if canonical is None:
            raise PayloadError(f"Web Push override header {name!r} is not supported")
        chosen[canonical] = value
    if "Urgency" in chosen and chosen["Urgency"] not in URGENCIES:
        raise PayloadError(f"Urgency must be one of {', '.join(sorted(URGENCIES))}")
    if "TTL" in chosen and not chosen["TTL"].isdigit():
        raise PayloadError("TTL is a number of seconds")
    if "Topic" in chosen:
        chosen["Topic"] = topic(chosen["Topic"])
    return chosen
