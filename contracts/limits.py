"""Upper bounds of each platform's rendered payload, so ingest refuses what could never be sent.

Ingest does not know a user's devices, so it sizes the push for every platform with the badge, ids
and tag at their longest; each estimate is never smaller than what that platform's dispatcher
renders (a property test compares them), so content that fits here fits there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from contracts.content import Content, DeliveryOptions

APNS_PAYLOAD_BYTES = 4096
APNS_VOIP_PAYLOAD_BYTES = 5120
FCM_PAYLOAD_BYTES = 4096
WEBPUSH_PLAINTEXT_BYTES = 3993

#: The largest values Herald may put in a push: the unread count is a PostgreSQL integer, its
#: sequence a bigint; a notification id is a UUID; the Android channel id (a setting of the FCM
#: dispatcher) is assumed to take at most 64 bytes.
MAX_BADGE = 2**31 - 1
MAX_BADGE_SEQ = 2**63 - 1
MAX_ANDROID_CHANNEL_ID_BYTES = 64
_ID = "00000000-0000-0000-0000-000000000000"
_CHANNEL = "c" * MAX_ANDROID_CHANNEL_ID_BYTES

APNS_HEADERS = frozenset(
    {"apns-push-type", "apns-priority", "apns-collapse-id", "apns-expiration", "apns-topic"}
)
APNS_PUSH_TYPES = frozenset(
    {"alert", "background", "voip", "complication", "fileprovider", "mdm", "liveactivity"}
)
APNS_PRIORITIES = frozenset({"1", "5", "10"})
WEBPUSH_HEADERS = frozenset({"ttl", "urgency", "topic"})
WEBPUSH_URGENCIES = frozenset({"very-low", "low", "normal", "high"})


@dataclass(frozen=True)
class Breach:
    """One broken limit: the field to fix and a message naming the limit."""

    field: str
    message: str


@dataclass(frozen=True)
class PayloadEstimate:
    """The most bytes a platform's payload can take for some content, and the platform's limit."""

    platform: str
    size: int
    limit: int
    measure: str

    @property
    def fits(self) -> bool:
        return self.size <= self.limit


def estimates(content: Content, options: DeliveryOptions) -> list[PayloadEstimate]:
    """The payload size bound of every platform, in the way each one counts its limit."""
    return [_apns(content, options), _fcm(content, options), _webpush(content, options)]


def payload_breaches(content: Content, options: DeliveryOptions) -> Iterator[Breach]:
    """Keys and overrides a dispatcher would refuse, then payloads over a platform's limit."""
    yield from _platform_breaches(content)
    for estimate in estimates(content, options):
        if not estimate.fits:
            yield Breach(
                "content",
                f"renders to up to {estimate.size} bytes for {estimate.platform} "
                f"({estimate.measure}); the limit is {estimate.limit} bytes",
            )


def _herald_fields(content: Content) -> dict[str, Any]:
    """Herald's keys in a notification push, with every optional one present at its longest."""
    fields: dict[str, Any] = {
        "herald_kind": "notification",
        "herald_notification_id": _ID,
        "herald_badge": MAX_BADGE,
        "herald_badge_seq": MAX_BADGE_SEQ,
    }
    if content.deep_link is not None:
        fields["herald_deep_link"] = content.deep_link
    if content.image_url is not None:
        fields["herald_image_url"] = str(content.image_url)
    return fields


def _tag(options: DeliveryOptions) -> str:
    return options.collapse_key or _ID


def _apns(content: Content, options: DeliveryOptions) -> PayloadEstimate:
    if content.visible:
        alert = _compact(
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
        aps = _compact(
            {
                "alert": alert,
                "badge": MAX_BADGE,
                "sound": content.sound,
                "thread-id": content.thread_id,
                "category": content.category,
                "mutable-content": 1 if content.image_url else None,
                "interruption-level": content.interruption_level,
            }
        )
    else:
        aps = {"content-available": 1, "badge": MAX_BADGE}
    payload: dict[str, Any] = {"aps": aps, **content.data, **_herald_fields(content)}
    push_type = "alert"
    override = content.overrides.apns if content.overrides else None
    if override is not None:
        payload = _deep_merge(payload, override.payload)
        push_type = override.headers.get("apns-push-type", push_type)
    size = len(json.dumps(payload, ensure_ascii=False).encode())
    limit = APNS_VOIP_PAYLOAD_BYTES if push_type == "voip" else APNS_PAYLOAD_BYTES
    return PayloadEstimate("APNs", size, limit, f"JSON payload, apns-push-type {push_type}")


def _fcm(content: Content, options: DeliveryOptions) -> PayloadEstimate:
    data = dict(content.data)
    data.update({key: str(value) for key, value in _herald_fields(content).items()})
    message: dict[str, Any] = {"data": data}
    android: dict[str, Any] = {}
    aps: dict[str, Any] = {"badge": MAX_BADGE}
    if content.visible:
        image = None if content.image_url is None else str(content.image_url)
        message["notification"] = _compact(
            {"title": content.title, "body": content.body, "image": image}
        )
        android["notification"] = _compact(
            {
                "tag": _tag(options),
                "sound": content.sound,
                "click_action": content.category,
                "channel_id": _CHANNEL,
                "notification_count": MAX_BADGE,
                "title_loc_key": content.title_loc_key,
                "title_loc_args": content.title_loc_args or None,
                "body_loc_key": content.body_loc_key,
                "body_loc_args": content.body_loc_args or None,
            }
        )
        alert = _compact(
            {
                "subtitle": content.subtitle,
                "title-loc-key": content.title_loc_key,
                "title-loc-args": content.title_loc_args or None,
                "loc-key": content.body_loc_key,
                "loc-args": content.body_loc_args or None,
            }
        )
        aps.update(
            _compact(
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
        aps["content-available"] = 1
    apns: dict[str, Any] = {"payload": {"aps": aps}}
    webpush: dict[str, Any] = {"notification": {"tag": _tag(options)}} if content.visible else {}
    overrides = content.overrides
    if overrides is not None:
        if overrides.android:
            android = _deep_merge(android, overrides.android)
        if overrides.apns is not None:
            apns = _deep_merge(apns, {"payload": overrides.apns.payload})
        if overrides.webpush is not None and overrides.webpush.notification:
            webpush = _deep_merge(webpush, {"notification": overrides.webpush.notification})
    parts = [message.get("data"), message.get("notification")]
    parts += [android.get("data"), android.get("notification"), apns.get("payload")]
    parts += [webpush.get("data"), webpush.get("notification")]
    size = sum(_counted_bytes(part) for part in parts)
    return PayloadEstimate(
        "FCM", size, FCM_PAYLOAD_BYTES, "keys and values of data, notification and each platform"
    )


def _webpush(content: Content, options: DeliveryOptions) -> PayloadEstimate:
    body: dict[str, Any] = {"herald": _herald_fields(content), "data": dict(content.data)}
    if content.visible:
        extra: dict[str, Any] = {"herald_notification_id": _ID}
        if content.deep_link is not None:
            extra["herald_deep_link"] = content.deep_link
        notification_options = _compact(
            {
                "body": content.body,
                "tag": _tag(options),
                "image": None if content.image_url is None else str(content.image_url),
                "data": extra,
            }
        )
        notification = {"title": content.title or "", "options": notification_options}
        override = content.overrides.webpush if content.overrides else None
        if override is not None:
            notification = _deep_merge(notification, override.notification)
        body["notification"] = notification
    size = len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
    return PayloadEstimate(
        "Web Push", size, WEBPUSH_PLAINTEXT_BYTES, "plaintext of one 4096-byte aes128gcm record"
    )


def _platform_breaches(content: Content) -> Iterator[Breach]:
    if "aps" in content.data:
        yield Breach("content.data.aps", "'aps' is APNs' own payload key; choose another key")
    overrides = content.overrides
    if overrides is None:
        return
    if overrides.apns is not None:
        headers = overrides.apns.headers
        field = "content.overrides.apns.headers"
        for name in sorted(set(headers) - APNS_HEADERS):
            allowed = ", ".join(sorted(APNS_HEADERS))
            yield Breach(f"{field}.{name}", f"not an APNs header Herald sets (allowed: {allowed})")
        if headers.get("apns-push-type", "alert") not in APNS_PUSH_TYPES:
            allowed = ", ".join(sorted(APNS_PUSH_TYPES))
            yield Breach(f"{field}.apns-push-type", f"must be one of {allowed}")
        if headers.get("apns-priority", "10") not in APNS_PRIORITIES:
            yield Breach(f"{field}.apns-priority", "must be 1, 5 or 10")
        if not headers.get("apns-expiration", "0").isdigit():
            yield Breach(f"{field}.apns-expiration", "must be a UNIX time in seconds")
    if overrides.webpush is not None:
        field = "content.overrides.webpush.headers"
        for name, value in overrides.webpush.headers.items():
            canonical = name.lower()
            if canonical not in WEBPUSH_HEADERS:
                yield Breach(
                    f"{field}.{name}", "not a Web Push header (allowed: TTL, Urgency, Topic)"
                )
            elif canonical == "urgency" and value not in WEBPUSH_URGENCIES:
                allowed = ", ".join(sorted(WEBPUSH_URGENCIES))
                yield Breach(f"{field}.{name}", f"must be one of {allowed}")
            elif canonical == "ttl" and not value.isdigit():
                yield Breach(f"{field}.{name}", "must be a number of seconds")


def _counted_bytes(value: Any) -> int:
    """Bytes of every key and value, as FCM counts them toward its limit."""
    if value is None:
        return 0
    if isinstance(value, dict):
        return sum(len(str(key).encode()) + _counted_bytes(item) for key, item in value.items())
    if isinstance(value, list):
        return sum(_counted_bytes(item) for item in value)
    return len(str(value).encode())


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged over it, objects key by key, as every platform merges."""
    merged = dict(base)
    for key, value in extra.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = _deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
