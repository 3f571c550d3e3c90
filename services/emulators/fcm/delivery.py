"""What each kind of client gets from one accepted FCM message, as FCM builds it, so a test or a
person watching the stack sees what an Android app, a browser or an iOS app would receive.

A platform block's fields override the message's common ones: ``android.notification`` and
``webpush.notification`` are merged over ``notification`` key by key, and ``android.data`` /
``webpush.data`` replace ``data`` when present ("If present, it will override
google.firebase.fcm.v1.Message.data"). Android's priority defaults to HIGH for notification
messages and NORMAL for data messages ("Set the priority of a message").
Reference: https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages
"""

from __future__ import annotations

from typing import Any


def as_received(message: dict[str, Any]) -> dict[str, Any]:
    """Per platform, what the client receives from ``message`` (an accepted Message object)."""
    common: dict[str, Any] = message.get("notification") or {}
    data: dict[str, str] = message.get("data") or {}
    android: dict[str, Any] = message.get("android") or {}
    webpush: dict[str, Any] = message.get("webpush") or {}
    apns: dict[str, Any] = message.get("apns") or {}
    shown = "notification" in message or "notification" in android
    return {
        "android": {
            "priority": str(android.get("priority") or ("HIGH" if shown else "NORMAL")).upper(),
            "ttl": android.get("ttl"),
            "collapse_key": android.get("collapse_key", android.get("collapseKey")),
            "data": android.get("data") or data,
            "notification": _merged(common, android.get("notification")),
        },
        "webpush": {
            "headers": webpush.get("headers") or {},
            "data": webpush.get("data") or data,
            "notification": _merged(common, webpush.get("notification")),
        },
        "apns": {"headers": apns.get("headers") or {}, "payload": apns.get("payload") or {}},
    }


def _merged(common: dict[str, Any], own: dict[str, Any] | None) -> dict[str, Any] | None:
    if not common and own is None:
        return None
    return {**common, **(own or {})}
