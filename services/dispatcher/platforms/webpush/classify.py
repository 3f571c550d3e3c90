"""What a push service's reply means for the push, read from a table citing the RFCs per row.

Pure: the caller passes the reply and the time. Rows are tried in order; the first match wins.
Docs: RFC 8030 (Generic Event Delivery Using HTTP Push) sections 5, 7.3, 8.4 and 9.3; RFC 8292
(VAPID) section 4; RFC 8291 (Message Encryption); RFC 6585 section 4 (429).

A VAPID refusal concerns either the subscription (bound to another application server key: that
push fails) or the app's key and token (every push of the app alike: the app pauses). Push services
do not agree on the status for either (RFC 8292 4.2 allows 401 or 403; Mozilla's autopush answers
401 to any VAPID error, FCM 403 to a key mismatch), so a refusal that names a key mismatch is the
subscription's and any other is the key's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from services.dispatcher.domain import (
    Delivered,
    Pause,
    Rejected,
    RetryLater,
    Verdict,
)
from shared.retry_after import parse_retry_after

Action = Literal["delivered", "token_invalid", "failed", "retry", "pause"]


@dataclass(frozen=True)
class Reply:
    """A push service's reply: status, a short body excerpt, Location and Retry-After."""

    status: int
    text: str = ""
    location: str | None = None
    retry_after: str | None = None


#: Words push services use when a subscription is bound to another key: autopush "VAPID public key
#: mismatch", Apple "VapidPkHashMismatch", FCM "does not correspond to the sender ID", the emulator
#: "not the subscription's applicationServerKey".
KEY_MISMATCH = ("mismatch", "does not correspond", "applicationserverkey")


def _names_a_key_mismatch(reply: Reply) -> bool:
    text = reply.text.lower()
    return any(words in text for words in KEY_MISMATCH)


@dataclass(frozen=True)
class Rule:
    """One row: the statuses it matches, what they mean, and where the RFCs say so."""

    statuses: tuple[int, ...]
    action: Action
    doc: str
    when: Callable[[Reply], bool] | None = None

    def matches(self, reply: Reply) -> bool:
        return reply.status in self.statuses and (self.when is None or self.when(reply))


RULES: tuple[Rule, ...] = (
    Rule(
        (200, 201, 202),
        "delivered",
        "RFC 8030 5: 201 Created with a Location naming the push message resource",
    ),
    Rule(
        (404, 410),
        "token_invalid",
        "RFC 8030 7.3 and 8.4: the push subscription expired or was removed (404 Not Found, "
        "410 Gone); stop using it",
    ),
    Rule(
        (413,),
        "failed",
        "RFC 8030 7.2: 413 Payload Too Large; push services accept at least 4096 bytes",
    ),
    Rule(
        (401, 403),
        "failed",
        "RFC 8292 4.2: the subscription is restricted to another application server key; only "
        "this subscription is affected, and it will be refused again",
        when=_names_a_key_mismatch,
    ),
    Rule(
        (401, 403),
        "pause",
        "RFC 8292 4.2: the VAPID authentication is absent or invalid (401 or 403): the app's key "
        "or token is refused for every push until its credentials change",
    ),
    Rule(
        (400,),
        "failed",
        "RFC 8030 5 / RFC 8291: the request is malformed (headers, encryption); it will be "
        "refused again",
    ),
    Rule((429,), "retry", "RFC 8030 8.4 / RFC 6585 4: too many requests; honour Retry-After"),
    Rule(
        tuple(range(500, 600)),
        "retry",
        "RFC 8030 9.3 / RFC 9110 15.6: the push service failed or is unavailable; retry later",
    ),
)


def classify(reply: Reply, now: datetime) -> Verdict:
    """The verdict of the first matching row; an unknown reply fails this push only."""
    rule = next((r for r in RULES if r.matches(reply)), None)
    reason = describe(reply)
    if rule is None:
        return Rejected("failed", f"unexpected reply: {reason}", reply.status)
    if rule.action == "delivered":
        return Delivered(reply.status, reply.location)
    if rule.action in ("token_invalid", "failed"):
        outcome: Literal["token_invalid", "failed"] = (
            "token_invalid" if rule.action == "token_invalid" else "failed"
        )
        return Rejected(outcome, reason, reply.status)
    asked = parse_retry_after(reply.retry_after, now) or 0.0
    if rule.action == "pause":
        return Pause(reason, reply.status, asked)
    return RetryLater(reason, reply.status, asked)


def describe(reply: Reply) -> str:
    """``<status>: <body excerpt>``, for a result event and a log line."""
    text = " ".join(reply.text.split())[:200]
    return f"{reply.status}: {text}" if text else f"{reply.status}"
