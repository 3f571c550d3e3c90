"""What an APNs reply means for the push, read from a table that cites Apple's docs per row.

Pure: the caller passes the reply and the time. Rows are tried in order; the first match wins.
A reply about the push fails it (only when Apple will refuse it again) or retries it; a reply about
the app's credentials, topic or provider token pauses the app (its pushes wait for new credentials
or the pause's end), whatever the push.
Docs: "Handling notification responses from APNs" (statuses and reasons)
https://developer.apple.com/documentation/usernotifications/handling-notification-responses-from-apns
and "Establishing a token-based connection to APNs" (provider tokens)
https://developer.apple.com/documentation/usernotifications/establishing-a-token-based-connection-to-apns
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
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
    """An APNs reply: status, the body's reason and timestamp (ms since the epoch), Retry-After."""

    status: int
    reason: str | None = None
    timestamp: int | None = None
    retry_after: str | None = None
    apns_id: str | None = None


@dataclass(frozen=True)
class Rule:
    """One row: the replies it matches (a reason of None matches any), its meaning, the doc."""

    status: int
    reason: str | None
    action: Action
    doc: str

    def matches(self, reply: Reply) -> bool:
        return reply.status == self.status and self.reason in (None, reply.reason)


RULES: tuple[Rule, ...] = (
    Rule(200, None, "delivered", "200 Success"),
    Rule(
        400,
        "BadDeviceToken",
        "token_invalid",
        "400 BadDeviceToken: the device token is bad; verify it and that it matches the "
        "environment",
    ),
    Rule(400, "IdleTimeout", "retry", "400 IdleTimeout: the connection idled out; send again"),
    Rule(
        400,
        "BadTopic",
        "pause",
        "400 BadTopic: the apns-topic is invalid; the app's bundle id is wrong for every push",
    ),
    Rule(400, "MissingTopic", "pause", "400 MissingTopic: apns-topic is required (the app's)"),
    Rule(
        400,
        "TopicDisallowed",
        "pause",
        "400 TopicDisallowed: pushing to this topic is not allowed with these credentials",
    ),
    Rule(
        400,
        None,
        "failed",
        "400 BadCollapseId, BadExpirationDate, BadMessageId, BadPriority, DeviceTokenNotForTopic, "
        "DuplicateHeaders, InvalidPushType, MissingDeviceToken, PayloadEmpty: this request is "
        "wrong and will be refused again",
    ),
    Rule(
        403,
        "ExpiredProviderToken",
        "pause",
        "403 ExpiredProviderToken: the token's iat is over an hour old by Apple's clock. Herald's "
        "token is at most one refresh period old by ours, so our clock is behind: every push of "
        "the app would be refused until the next period's token",
    ),
    Rule(
        403,
        None,
        "pause",
        "403 BadCertificate, BadCertificateEnvironment, Forbidden, InvalidProviderToken, "
        "MissingProviderToken: the app's certificate or signing key is refused for every push",
    ),
    Rule(404, None, "pause", "404 BadPath: the request path is wrong; every push alike"),
    Rule(405, None, "pause", "405 MethodNotAllowed: only POST is supported; every push alike"),
    Rule(
        410,
        None,
        "token_invalid",
        "410 Unregistered / ExpiredToken: the device token is no longer active for the topic; "
        "the timestamp says since when",
    ),
    Rule(413, None, "failed", "413 PayloadTooLarge: the payload is over the size limit"),
    Rule(
        429,
        "TooManyProviderTokenUpdates",
        "pause",
        "429 TooManyProviderTokenUpdates: the provider token changed too often; Apple engineers: "
        "that connection stays unusable until enough time has passed, so the app waits (and its "
        "connections are replaced)",
    ),
    Rule(
        429,
        None,
        "retry",
        "429 TooManyRequests: too many requests to the same device token; back off",
    ),
    Rule(500, None, "retry", "500 InternalServerError: retry"),
    Rule(503, None, "retry", "503 ServiceUnavailable / Shutdown: the server is unavailable; retry"),
)


def classify(reply: Reply, now: datetime) -> Verdict:
    """The verdict of the first matching row; an unknown reply fails this push only."""
    rule = next((r for r in RULES if r.matches(reply)), None)
    reason = describe(reply)
    if rule is None:
        return Rejected("failed", f"unexpected reply: {reason}", reply.status)
    if rule.action == "delivered":
        return Delivered(reply.status, reply.apns_id)
    if rule.action == "token_invalid":
        return Rejected("token_invalid", reason, reply.status, _since(reply.timestamp))
    if rule.action == "failed":
        return Rejected("failed", reason, reply.status)
    asked = parse_retry_after(reply.retry_after, now) or 0.0
    if rule.action == "retry":
        return RetryLater(reason, reply.status, asked)
    return Pause(reason, reply.status, asked)


def _since(timestamp: int | None) -> datetime | None:
    """APNs' timestamp of a dead token (milliseconds since the epoch) as an aware time."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp / 1000, UTC)


def describe(reply: Reply) -> str:
    """``<status> <reason>``, for a result event and a log line."""
    return f"{reply.status} {reply.reason or 'no reason'}"
