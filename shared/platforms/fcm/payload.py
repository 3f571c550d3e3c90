"""A push request rendered as an FCM HTTP v1 send body. Pure: the caller passes the time.

One message carries every platform's block: Android gets priority, TTL, collapse key, a tag and the
badge as ``notification_count``; iOS devices reached through FCM get the badge in ``aps``; browsers
get the Web Push headers (TTL, Urgency, and Topic for a collapse key) and a tag, with a title that
is never empty (``fields.browser_text``). FCM has no buttons for Android: Android apps get them in
data (``herald_actions``, JSON) and the category as ``click_action`` (the intent filter that opens
on a tap); iOS devices get ``aps.category``, browsers the notification's ``actions``. A request
without title and body becomes a data-only message, and so does a badge-sync push (Herald's sync
fields in data, the badge in ``aps``); those go at normal priority on Android and normal urgency on
the web: Android deprioritises an app whose high-priority messages show nothing, and browsers may
penalise such pushes. The content's per-platform overrides are merged over each block last, as FCM
v1 merges them.
Reference: https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages
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
from shared.platforms.webpush.payload import topic as webpush_topic

#: FCM's limit on what the device receives ("Message is too big" beyond it).
MAX_PAYLOAD_BYTES = 4096
COUNTED = "keys and values of data, notification and each platform"
#: The longest Android channel id the settings allow, so the limits check can count on it.
MAX_ANDROID_CHANNEL_ID_BYTES = 64


@dataclass(frozen=True)
class RenderOptions:
    """Deployment-wide rendering choices."""

    android_channel_id: str | None = None
    validate_only: bool = False


def render(request: PushRequest, now: datetime, options: RenderOptions) -> dict[str, Any]:
    """The JSON body of ``POST /v1/projects/{project}/messages:send`` for ``request``; raise
    PayloadError when FCM would refuse it as too big."""
    body = message(request, now, options)
    size = payload_size(body)
    if size > MAX_PAYLOAD_BYTES:
        raise PayloadError(
            f"FCM payload is {size} bytes ({COUNTED} block); the limit is {MAX_PAYLOAD_BYTES} bytes"
        )
    if options.validate_only:
        return {"message": body, "validate_only": True}
    return {"message": body}


def message(request: PushRequest, now: datetime, options: RenderOptions) -> dict[str, Any]:
    """The Message object for ``request``, whatever its size."""
    body: dict[str, Any] = {"token": request.token, "data": data(request)}
    if request.sync is None and request.content.visible:
        body["notification"] = compact(
            {
                "title": request.content.title,
                "body": request.content.body,
                "image": _image(request),
            }
        )
    body["android"] = android(request, now, options)
    body["apns"] = apns(request)
    body["webpush"] = webpush(request, now)
    overrides = request.content.overrides if request.sync is None else None
    if overrides is not None:
        if overrides.android:
            body["android"] = deep_merge(body["android"], overrides.android)
        if overrides.apns is not None:
            extra = {"headers": overrides.apns.headers, "payload": overrides.apns.payload}
            body["apns"] = deep_merge(body["apns"], extra)
        if overrides.webpush is not None:
            extra = {
                "headers": overrides.webpush.headers,
                "notification": overrides.webpush.notification,
            }
            body["webpush"] = deep_merge(body["webpush"], _compact_empty(extra))
    return body


def measure(body: dict[str, Any]) -> Measure:
    """A Message object's size as FCM counts it, and FCM's limit."""
    return Measure(payload_size(body), MAX_PAYLOAD_BYTES, COUNTED)


def data(request: PushRequest) -> dict[str, str]:
    """The app's data plus Herald's fields, every value a string as FCM requires."""
    values = {} if request.sync is not None else dict(request.content.data)
    values.update(fields.as_strings(fields.herald_fields(request)))
    buttons = None if request.sync is not None else fields.actions(request.content)
    if buttons is not None:
        values[fields.ACTIONS_KEY] = json.dumps(buttons, separators=(",", ":"), ensure_ascii=False)
    return values


def android(request: PushRequest, now: datetime, options: RenderOptions) -> dict[str, Any]:
    """The AndroidConfig block: delivery options, and the notification's Android details."""
    ttl = remaining_ttl(request, now)
    quiet = request.sync is not None
    visible = not quiet and request.content.visible
    block: dict[str, Any] = compact(
        {
            "priority": "HIGH" if request.options.priority == "high" and visible else "NORMAL",
            "ttl": None if ttl is None else f"{ttl}s",
            "collapse_key": None if quiet else request.options.collapse_key,
        }
    )
    content = request.content
    if visible:
        block["notification"] = compact(
            {
                "tag": fields.tag(request),
                "sound": content.sound,
                "click_action": content.category,
                "channel_id": options.android_channel_id,
                "notification_count": request.badge,
                "title_loc_key": content.title_loc_key,
                "title_loc_args": content.title_loc_args or None,
                "body_loc_key": content.body_loc_key,
                "body_loc_args": content.body_loc_args or None,
            }
        )
    return block


def apns(request: PushRequest) -> dict[str, Any]:
    """The ApnsConfig block: APNs headers and the ``aps`` dictionary with the badge.

    FCM allows only priority 5 for data-only messages to iOS. A silent push that sets the badge is
    still an ``alert`` push for APNs, one without a badge is a ``background`` push; a sync push
    follows the same rule as a direct APNs one (badge-only, or a background wake-up without badge).
    """
    content = request.content
    sync = request.sync
    badge = None if sync is not None and sync.wake_app else fields.badge_of(request)
    aps: dict[str, Any] = {} if badge is None else {"badge": badge}
    if sync is None and content.visible:
        priority = "10" if request.options.priority == "high" else "5"
        push_type = "alert"
        alert = compact(
            {
                "subtitle": content.subtitle,
                "title-loc-key": content.title_loc_key,
                "title-loc-args": content.title_loc_args or None,
                "loc-key": content.body_loc_key,
                "loc-args": content.body_loc_args or None,
            }
        )
        aps.update(
            compact(
                {
                    "alert": alert or None,
                    "sound": content.sound,
                    "category": content.category,
                    "thread-id": content.thread_id,
                    "mutable-content": 1 if content.image_url else None,
                    "interruption-level": content.interruption_level,
                }
            )
        )
    else:
        priority = "5"
        push_type = "background" if badge is None else "alert"
        if sync is None or sync.wake_app:
            aps["content-available"] = 1
    headers = compact(
        {
            "apns-priority": priority,
            "apns-push-type": push_type,
            "apns-collapse-id": None if request.sync else request.options.collapse_key,
            "apns-expiration": _apns_expiration(request),
        }
    )
    block: dict[str, Any] = {"headers": headers, "payload": {"aps": aps}}
    image = _image(request)
    if request.sync is None and content.visible and image is not None:
        block["fcm_options"] = {"image": image}
    return block


def webpush(request: PushRequest, now: datetime) -> dict[str, Any]:
    """The WebpushConfig block: RFC 8030 headers, and the tag of a visible notification with the
    title (and body) a browser shows when the content has no title of its own."""
    ttl = remaining_ttl(request, now)
    quiet = request.sync is not None
    visible = not quiet and request.content.visible
    collapse_key = None if quiet else request.options.collapse_key
    headers = compact(
        {
            "TTL": None if ttl is None else str(ttl),
            "Urgency": "high" if request.options.priority == "high" and visible else "normal",
            "Topic": None if collapse_key is None else webpush_topic(collapse_key),
        }
    )
    block: dict[str, Any] = {"headers": headers}
    if visible:
        notification: dict[str, Any] = compact(
            {
                "tag": fields.tag(request),
                "lang": request.locale,
                "actions": fields.notification_actions(request.content),
            }
        )
        if not request.content.title:
            # Replaces the message's own body too, so a body shown as the title is not repeated.
            title, body = fields.browser_text(request.content)
            notification.update({"title": title, "body": body or ""})
        block["notification"] = notification
    return block


def payload_size(message: dict[str, Any]) -> int:
    """Bytes of every key and value a device receives: data and notification, per platform.

    This counts at least what FCM counts toward its limit, so a message under it is accepted.
    """
    parts: list[Any] = [message.get("data"), message.get("notification")]
    for platform, names in (
        ("android", ("data", "notification")),
        ("apns", ("payload",)),
        ("webpush", ("data", "notification")),
    ):
        block = message.get(platform)
        if isinstance(block, dict):
            parts.extend(block.get(name) for name in names)
    return sum(_bytes(part) for part in parts)


def _bytes(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, dict):
        return sum(len(str(key).encode()) + _bytes(item) for key, item in value.items())
    if isinstance(value, list):
        return sum(_bytes(item) for item in value)
    return len(str(value).encode())


def _apns_expiration(request: PushRequest) -> str | None:
    """UNIX time after which APNs drops the push; "0" means deliver once, never store."""
    end = deadline(request)
    if end is None:
        return None
    if request.options.ttl_seconds == 0:
        return "0"
    return str(int(end.timestamp()))


def _image(request: PushRequest) -> str | None:
    return None if request.content.image_url is None else str(request.content.image_url)


def _compact_empty(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value}
