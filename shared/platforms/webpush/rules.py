"""What Web Push accepts besides size: the RFC 8030 headers a push service checks (the Web Push
emulator applies these, and ingest applies them to every push it renders, so the two cannot
drift), the override headers and notification a request may carry, and what a subscription token
must be (a browser's PushSubscription on an allowed push service). Ingest and the registry refuse
what breaks these before anything is queued."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import ec

from contracts.content import Content
from contracts.push import PushRequest
from shared.platforms.base import Breach, Measure, PayloadError, TokenFormatError, TokenRule
from shared.platforms.webpush.payload import OVERRIDABLE_HEADERS, TOPIC, URGENCIES, build
from shared.platforms.webpush.subscription import WebPushSubscription, endpoint_problem

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
    problem = endpoint_problem(subscription.endpoint, webpush_hosts)
    if problem is not None:
        raise TokenFormatError(problem)
    try:
        point = base64.urlsafe_b64decode(subscription.keys.p256dh + "==")
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise TokenFormatError(
            "keys.p256dh is not a point on the P-256 curve (RFC 8291 encrypts to it)"
        ) from None
    return subscription.token()


def header_problem(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """The first RFC 8030 header a push service refuses (names lower-case), and why: TTL is
    required (5.2), Urgency one of four values (5.3), Topic at most 32 base64url characters (5.4).
    """
    ttl = headers.get("ttl")
    if ttl is None or not (ttl.isascii() and ttl.isdigit()):
        return "ttl", "TTL header required, a number of seconds (RFC 8030 5.2)"
    urgency = headers.get("urgency")
    if urgency is not None and urgency not in URGENCIES:
        return "urgency", f"Urgency must be one of {sorted(URGENCIES)} (RFC 8030 5.3)"
    topic = headers.get("topic")
    if topic is not None and not TOPIC.match(topic):
        return "topic", "Topic is at most 32 base64url characters (RFC 8030 5.4)"
    return None


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
    title = override.notification.get("title")
    if title is not None and not isinstance(title, str):
        yield Breach(
            "content.overrides.webpush.notification.title", "must be text (the shown title)"
        )


def refusals(request: PushRequest, now: datetime) -> Iterator[Breach]:
    """What a push service would refuse in ``request`` rendered, by the rules the emulator
    applies; each names the field of the request it comes from."""
    override = request.content.overrides.webpush if request.content.overrides else None
    try:
        message = build(request, now)
    except PayloadError as error:
        yield Breach("content.overrides.webpush.headers", str(error))
        return
    problem = header_problem({name.lower(): value for name, value in message.headers.items()})
    if problem is None:
        return
    name, reason = problem
    given = [key for key in (override.headers if override else {}) if key.lower() == name]
    field = f"content.overrides.webpush.headers.{given[0]}" if given else "content"
    yield Breach(field, f"push services refuse it: {reason}")


def largest(request: PushRequest, now: datetime) -> Measure:
    """``request`` rendered by the real renderer and measured as one aes128gcm record holds it."""
    return build(request, now).measure()
