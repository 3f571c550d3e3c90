"""What FCM accepts besides size: the shape of a registration token. FCM's overrides are merged as
FCM merges them, so no override is refused before the size check."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime

from contracts.content import Content
from contracts.push import PushRequest
from shared.platforms.base import Breach, Measure, TokenRule
from shared.platforms.fcm.payload import (
    MAX_ANDROID_CHANNEL_ID_BYTES,
    RenderOptions,
    measure,
    message,
)

#: Firebase registration tokens: about 150-180 URL-safe characters, with a ':' separator.
TOKEN = TokenRule(
    "fcm", 32, 4096, re.compile(r"[A-Za-z0-9_:.-]+"), "letters, digits, '_', ':', '.' and '-'"
)
_LONGEST_CHANNEL = RenderOptions(android_channel_id="c" * MAX_ANDROID_CHANNEL_ID_BYTES)


def canonical_token(token: str, webpush_hosts: Sequence[str]) -> str:
    """The token as Herald stores it: unchanged once it fits the rule (the hosts are Web Push's
    concern)."""
    return TOKEN.check(token)


def content_breaches(content: Content) -> Iterator[Breach]:
    """Nothing in content makes the FCM renderer refuse a push but its size."""
    return iter(())


def largest(request: PushRequest, now: datetime) -> Measure:
    """``request`` rendered by the real renderer with the longest Android channel id settings
    allow, and measured as FCM counts it."""
    return measure(message(request, now, _LONGEST_CHANNEL))
