"""What FCM accepts besides size: every push rendered (overrides merged as FCM merges them) checked
against Google's send-request schema, the one the FCM emulator answers by; and the shape of a
registration token."""

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
from shared.platforms.fcm.schema import violations

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


def refusals(request: PushRequest, now: datetime) -> Iterator[Breach]:
    """What FCM would refuse in ``request`` rendered; each names the override it comes from."""
    # Ingest knows no device: any registration token stands in for the one the push will carry.
    body = message(request, now, _LONGEST_CHANNEL) | {"token": request.token or "device-token"}
    overrides = request.content.overrides
    for field, problem in violations({"message": body}):
        path = field.removeprefix("message.")
        block = path.split(".", 1)[0]
        overridden = overrides is not None and getattr(overrides, block, None) is not None
        where = f"content.overrides.{path}" if overridden else "content"
        yield Breach(where, f"FCM refuses it: {problem}")


def largest(request: PushRequest, now: datetime) -> Measure:
    """``request`` rendered by the real renderer with the longest Android channel id settings
    allow, and measured as FCM counts it."""
    return measure(message(request, now, _LONGEST_CHANNEL))
