"""What Web Push accepts besides size: the override headers a request may carry, and what a
subscription token must be (a browser's PushSubscription on an allowed push service). Ingest and
the registry refuse what breaks these before anything is queued."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime

from contracts.content import Content
from contracts.push import PushRequest, WebPushSubscription, host_allowed
from shared.platforms.base import Breach, Measure, TokenFormatError, TokenRule
from shared.platforms.webpush.payload import OVERRIDABLE_HEADERS, URGENCIES, build

#: A browser's PushSubscription as JSON: {"endpoint": "https://...", "keys": {p256dh, auth}}.
TOKEN = TokenRule("webpush", 1, 4096, re.compile(r"[\x20-\x7e]+"), "printable ASCII characters")


def canonical_token(token: str, webpush_hosts: Sequence[str]) -> str:
    """The subscription as Herald stores it (compact JSON), its endpoint on one of
    ``webpush_hosts``; raise TokenFormatError naming what is wrong."""
    TOKEN.check(token)
    try:
        subscription = WebPushSubscription.from_token(token)
    except ValueError as error:
        raise TokenFormatError(str(error)) from None
    if not host_allowed(subscription.host, webpush_hosts):
        raise TokenFormatError(
            f"the push service {subscription.host} is not an allowed Web Push host "
            f"(allowed: {', '.join(webpush_hosts)})"
        )
    return subscription.token()


def content_breaches(content: Content) -> Iterator[Breach]:
    """Override headers the Web Push renderer would refuse, each naming its field."""
    override = content.overrides.webpush if content.overrides else None
    if override is None:
        return
    field = "content.overrides.webpush.headers"
    for name, value in override.headers.items():
        canonical = name.lower()
        if canonical not in OVERRIDABLE_HEADERS:
            yield Breach(f"{field}.{name}", "not a Web Push header (allowed: TTL, Urgency, Topic)")
        elif canonical == "urgency" and value not in URGENCIES:
            yield Breach(f"{field}.{name}", f"must be one of {', '.join(sorted(URGENCIES))}")
        elif canonical == "ttl" and not value.isdigit():
            yield Breach(f"{field}.{name}", "must be a number of seconds")


def largest(request: PushRequest, now: datetime) -> Measure:
    """``request`` rendered by the real renderer and measured as one aes128gcm record holds it."""
    return build(request, now).measure()
