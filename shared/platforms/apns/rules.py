"""What APNs accepts besides size: the override headers and data keys a request may carry, and the
shape of a device token. Ingest and the registry refuse what breaks these before anything is
queued; the renderer enforces the same sets when it sends."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime

from contracts.content import Content
from contracts.push import PushRequest
from shared.platforms.apns.payload import OVERRIDABLE_HEADERS, PRIORITIES, PUSH_TYPES, build
from shared.platforms.base import Breach, Measure, TokenRule

#: Apple's device tokens are opaque bytes of variable length (32 today), sent as hex.
TOKEN = TokenRule("apns", 64, 200, re.compile(r"[0-9a-f]+"), "hexadecimal digits")


def canonical_token(token: str, webpush_hosts: Sequence[str]) -> str:
    """The token as Herald stores it: apps spell hex in either case, so it is lower-cased and the
    same token never becomes two devices (the hosts are Web Push's concern)."""
    return TOKEN.check(token.lower())


def content_breaches(content: Content) -> Iterator[Breach]:
    """Data keys and override headers the APNs renderer would refuse, each naming its field."""
    if "aps" in content.data:
        yield Breach("content.data.aps", "'aps' is APNs' own payload key; choose another key")
    override = content.overrides.apns if content.overrides else None
    if override is None:
        return
    headers = override.headers
    field = "content.overrides.apns.headers"
    for name in sorted(set(headers) - OVERRIDABLE_HEADERS):
        allowed = ", ".join(sorted(OVERRIDABLE_HEADERS))
        yield Breach(f"{field}.{name}", f"not an APNs header Herald sets (allowed: {allowed})")
    if headers.get("apns-push-type", "alert") not in PUSH_TYPES:
        yield Breach(f"{field}.apns-push-type", f"must be one of {', '.join(sorted(PUSH_TYPES))}")
    if headers.get("apns-priority", "10") not in PRIORITIES:
        yield Breach(f"{field}.apns-priority", "must be 1, 5 or 10")
    if not headers.get("apns-expiration", "0").isdigit():
        yield Breach(f"{field}.apns-expiration", "must be a UNIX time in seconds")


def largest(request: PushRequest, now: datetime) -> Measure:
    """``request`` rendered by the real renderer and measured as APNs counts it."""
    return build(request, now).measure()
