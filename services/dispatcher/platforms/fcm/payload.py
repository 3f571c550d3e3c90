"""A push request rendered as an FCM HTTP v1 send body. Pure: the caller passes the time.

One message carries every platform's block: Android gets priority, TTL, collapse key and the
badge as ``notification_count``; iOS devices reached through FCM get the badge in ``aps``.
A request without title and body becomes a data-only (silent) message.
Reference: https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.push import PushRequest
from services.dispatcher.domain import deadline, remaining_ttl

#: Herald's own keys in the data map (app data may not use the ``herald`` prefix).
NOTIFICATION_ID_KEY = "herald_notification_id"
BADGE_KEY = "herald_badge"
BADGE_SEQ_KEY = "herald_badge_seq"
DEEP_LINK_KEY = "herald_deep_link"


@dataclass(frozen=True)
class RenderOptions:
    """Deployment-wide rendering choices."""

    android_channel_id: str | None = None


def render(request: PushRequest, now: datetime, options: RenderOptions) -> dict[str, Any]:
    """The JSON body of ``POST /v1/projects/{project}/messages:send`` for ``request``."""
    message: dict[str, Any] = {"token": request.token, "data": data(request)}
    if request.content.visible:
        message["notification"] = _compact(
            {
                "title": request.content.title,
                "body": request.content.body,
                "image": _image(request),
            }
        )
    message["android"] = android(request, now, options)
    message["apns"] = apns(request)
    return {"message": message}


def data(request: PushRequest) -> dict[str, str]:
    """The app's data plus Herald's fields, every value a string as FCM requires."""
    values = dict(request.content.data)
    values[NOTIFICATION_ID_KEY] = str(request.notification_id)
    if request.badge is not None:
        values[BADGE_KEY] = str(request.badge)
    if request.badge_seq is not None:
        values[BADGE_SEQ_KEY] = str(request.badge_seq)
    if request.content.deep_link is not None:
        values[DEEP_LINK_KEY] = request.content.deep_link
    return values


def android(request: PushRequest, now: datetime, options: RenderOptions) -> dict[str, Any]:
    """The AndroidConfig block: delivery options, and the notification's Android details."""
    ttl = remaining_ttl(request, now)
    block: dict[str, Any] = _compact(
        {
            "priority": "HIGH" if request.options.priority == "high" else "NORMAL",
            "ttl": None if ttl is None else f"{ttl}s",
            "collapse_key": request.options.collapse_key,
        }
    )
    if request.content.visible:
        notification = _compact(
            {
                "tag": request.options.collapse_key,
                "sound": request.content.sound,
                "click_action": request.content.category,
                "channel_id": options.android_channel_id,
                "notification_count": request.badge,
            }
        )
        if notification:
            block["notification"] = notification
    return block


def apns(request: PushRequest) -> dict[str, Any]:
    """The ApnsConfig block: APNs headers and the ``aps`` dictionary with the badge.

    FCM allows only priority 5 for data-only messages to iOS; a silent push that sets the badge
    is still an ``alert`` push for APNs, one without a badge is a ``background`` push.
    """
    content = request.content
    aps: dict[str, Any] = {}
    if request.badge is not None:
        aps["badge"] = request.badge
    if content.visible:
        priority = "10" if request.options.priority == "high" else "5"
        push_type = "alert"
        aps.update(
            _compact(
                {
                    "sound": content.sound,
                    "category": content.category,
                    "thread-id": content.thread_id,
                    "mutable-content": 1 if content.image_url else None,
                }
            )
        )
    else:
        priority = "5"
        push_type = "alert" if request.badge is not None else "background"
        aps["content-available"] = 1
    headers = _compact(
        {
            "apns-priority": priority,
            "apns-push-type": push_type,
            "apns-collapse-id": request.options.collapse_key,
            "apns-expiration": _apns_expiration(request),
        }
    )
    block: dict[str, Any] = {"headers": headers, "payload": {"aps": aps}}
    image = _image(request)
    if content.visible and image is not None:
        block["fcm_options"] = {"image": image}
    return block


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


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
