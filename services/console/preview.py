"""What a composed notification becomes on each platform, rendered by the renderers the
dispatchers send with (shared/platforms/*/payload.py) and sized as ingest sizes it before
accepting (shared/platforms/limits.py), so the preview and its meters tell what will happen. Pure.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts.content import NotificationRequest
from contracts.push import Platform, PushRequest
from shared.platforms import PLATFORMS
from shared.platforms.apns import payload as apns
from shared.platforms.base import Breach, Measure, PayloadError
from shared.platforms.fcm import payload as fcm
from shared.platforms.limits import carries_badge, largest_push, payload_breaches
from shared.platforms.webpush import payload as webpush

#: The badge a previewed push shows (the real one is the user's unread count when it goes out).
SAMPLE_BADGE = 1


@dataclass(frozen=True)
class Card:
    """What the device shows: the notification as the platform's payload tells it."""

    title: str | None
    body: str | None
    subtitle: str | None = None
    image: str | None = None
    actions: list[str] = field(default_factory=list)
    badge: int | None = None


@dataclass(frozen=True)
class PlatformPreview:
    """One platform: the push rendered for a sample device, its card, and the size meter of the
    largest push the content can become (what ingest checks against the limit)."""

    platform: Platform
    label: str
    rendered: str | None
    headers: dict[str, str]
    card: Card | None
    largest: Measure | None
    error: str | None = None

    @property
    def percent(self) -> int:
        if self.largest is None:
            return 0
        return min(100, round(100 * self.largest.size / self.largest.limit))


@dataclass(frozen=True)
class Preview:
    platforms: list[PlatformPreview]
    breaches: list[Breach]
    locale: str | None


def sample_push(
    request: NotificationRequest, locale: str | None, platform: Platform
) -> PushRequest:
    """The push one device of ``locale`` gets (the variant's text, a sample badge)."""
    content, options = request.content.in_locale(locale), request.options
    push = largest_push(content, options, locale)
    badge = SAMPLE_BADGE if carries_badge(content, options) else None
    return push.model_copy(
        update={
            "platform": platform,
            "badge": badge,
            "badge_seq": badge,
            "notification_id": uuid.uuid4(),
        }
    )


def _apns(push: PushRequest, now: datetime) -> tuple[str, dict[str, str], Card]:
    message = apns.build(push, now)
    aps = message.payload.get("aps", {})
    alert = aps.get("alert", {}) if isinstance(aps.get("alert"), dict) else {}
    headers = {"apns-push-type": message.push_type, "apns-priority": str(message.priority)}
    if message.collapse_id:
        headers["apns-collapse-id"] = message.collapse_id
    card = Card(
        title=alert.get("title"),
        body=alert.get("body"),
        subtitle=alert.get("subtitle"),
        image=str(push.content.image_url) if push.content.image_url else None,
        actions=[a["title"] for a in message.payload.get("herald_actions", [])],
        badge=aps.get("badge"),
    )
    return _pretty(message.payload), headers, card


def _fcm(push: PushRequest, now: datetime) -> tuple[str, dict[str, str], Card]:
    body = fcm.message(push, now, fcm.RenderOptions())
    shown = body.get("notification", {})
    android = body.get("android", {})
    headers = {"android.priority": str(android.get("priority", ""))}
    card = Card(
        title=shown.get("title"),
        body=shown.get("body"),
        image=shown.get("image"),
        actions=[a["title"] for a in json.loads(body["data"].get("herald_actions", "[]"))],
        badge=android.get("notification", {}).get("notification_count"),
    )
    return _pretty({"message": body}), headers, card


def _webpush(push: PushRequest, now: datetime) -> tuple[str, dict[str, str], Card]:
    message = webpush.build(push, now)
    body = json.loads(message.plaintext)
    shown = body.get("notification", {})
    options = shown.get("options", {})
    card = Card(
        title=shown.get("title"),
        body=options.get("body"),
        image=options.get("image"),
        actions=[a["title"] for a in options.get("actions", [])],
    )
    return _pretty(body), dict(message.headers), card


RENDERERS = {"apns": _apns, "fcm": _fcm, "webpush": _webpush}


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def preview(request: NotificationRequest, locale: str | None, now: datetime) -> Preview:
    """Every platform's push for a device of ``locale`` (None: the default text), with the limits
    ingest enforces: the same breaches it would answer 422 with."""
    if locale is not None and locale not in request.content.localized:
        locale = None
    content = request.content.in_locale(locale)
    previews = []
    for name, rules in PLATFORMS.items():
        push = sample_push(request, locale, name)
        try:
            rendered, headers, card = RENDERERS[name](push, now)
            largest = rules.largest(largest_push(content, request.options, locale), now)
        except PayloadError as error:
            previews.append(PlatformPreview(name, rules.label, None, {}, None, None, str(error)))
            continue
        previews.append(PlatformPreview(name, rules.label, rendered, headers, card, largest))
    breaches = list(payload_breaches(request.content, request.options))
    return Preview(previews, breaches, locale)
