"""What a push service's reply means for the push, read from a table citing the RFCs per row.

Pure: the caller passes the reply and the time. Rows are tried in order; the first match wins.
Docs: RFC 8030 (Generic Event Delivery Using HTTP Push) sections 5, 7.3, 8.4 and 9.3; RFC 8292
(VAPID) section 4; RFC 8291 (Message Encryption); RFC 6585 section 4 (429).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from services.dispatcher.domain import (
    Delivered,
    Rejected,
    RetryLater,
    Verdict,
    parse_retry_after,
)

Action = Literal["delivered", "token_invalid", "failed", "retry"]


@dataclass(frozen=True)
class Reply:
    """A push service's reply: status, a short body excerpt, Location and Retry-After."""

    status: int
    text: str = ""
    location: str | None = None
    retry_after: str | None = None


@dataclass(frozen=True)
class Rule:
    """One row: the statuses it matches, what they mean, and where the RFCs say so."""

    statuses: tuple[int, ...]
    action: Action
    doc: str


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
        "RFC 8292 4: the push service refused the VAPID token or the subscription is bound to "
        "another application server key; only this subscription is affected",
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
    rule = next((r for r in RULES if reply.status in r.statuses), None)
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
    return RetryLater(reason, reply.status, asked)


def describe(reply: Reply) -> str:
    """``<status>: <body excerpt>``, for a result event and a log line."""
    text = " ".join(reply.text.split())[:200]
    return f"{reply.status}: {text}" if text else f"{reply.status}"
