"""What an FCM HTTP v1 reply means for the push, read from a table that cites FCM's docs per row.

Pure: the caller passes the reply and the time. Rows are tried in order; the first match wins.
A refusal of the app's service account or project pauses the app (its pushes wait for new
credentials or the pause's end); only a push FCM will refuse again fails.
Docs: ErrorCode https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode and
"Detect invalid token responses" https://firebase.google.com/docs/cloud-messaging/manage-tokens
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from services.dispatcher.domain import (
    Delivered,
    Pause,
    Reauthenticate,
    Rejected,
    RetryLater,
    Verdict,
)
from shared.retry_after import parse_retry_after

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"

Action = Literal["delivered", "token_invalid", "failed", "retry", "reauthenticate", "pause"]


@dataclass(frozen=True)
class Reply:
    """An HTTP reply from the send endpoint: status, decoded JSON body (or None), Retry-After."""

    status: int
    body: Any
    retry_after: str | None = None

    @property
    def error(self) -> dict[str, Any]:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return error if isinstance(error, dict) else {}

    @property
    def message(self) -> str:
        return str(self.error.get("message") or "")

    @property
    def fcm_code(self) -> str | None:
        """The ``errorCode`` of the FcmError detail, FCM's own classification."""
        for detail in self._details(FCM_ERROR_TYPE):
            code = detail.get("errorCode")
            if isinstance(code, str):
                return code
        return None

    @property
    def bad_fields(self) -> list[str]:
        """Fields a google.rpc.BadRequest detail names."""
        return [
            str(violation.get("field"))
            for detail in self._details(BAD_REQUEST_TYPE)
            for violation in detail.get("fieldViolations") or []
            if isinstance(violation, dict)
        ]

    def _details(self, kind: str) -> list[dict[str, Any]]:
        details = self.error.get("details")
        if not isinstance(details, list):
            return []
        return [d for d in details if isinstance(d, dict) and d.get("@type") == kind]


def _names_the_token(reply: Reply) -> bool:
    return "registration token" in reply.message.lower() or "message.token" in reply.bad_fields


@dataclass(frozen=True)
class Rule:
    """One row: the replies it matches, what they mean, and where FCM says so."""

    statuses: tuple[int, ...]
    fcm_code: str | None
    action: Action
    doc: str
    when: Callable[[Reply], bool] | None = None
    wait_at_least: float = 0.0

    def matches(self, reply: Reply) -> bool:
        if reply.status not in self.statuses:
            return False
        if self.fcm_code is not None and reply.fcm_code != self.fcm_code:
            return False
        return self.when is None or self.when(reply)


SERVER_ERRORS = tuple(range(500, 600))

RULES: tuple[Rule, ...] = (
    Rule((200,), None, "delivered", "projects.messages.send: 200 returns the message name"),
    Rule(
        (400,),
        "INVALID_ARGUMENT",
        "token_invalid",
        "ErrorCode INVALID_ARGUMENT, 'Invalid registration'; manage-tokens lists a 400 naming "
        "the registration token as a token to delete",
        when=_names_the_token,
    ),
    Rule(
        (400,),
        None,
        "failed",
        "ErrorCode INVALID_ARGUMENT: message too big, bad data key, bad TTL or parameters; "
        "the same request gets the same answer",
    ),
    Rule(
        (401,),
        "THIRD_PARTY_AUTH_ERROR",
        "retry",
        "ErrorCode THIRD_PARTY_AUTH_ERROR: the project's APNs certificate or web push key is "
        "invalid or missing; only this device's kind is affected (so the app is not paused), and "
        "it passes once the operator fixes the project: retry, at most every five minutes",
        wait_at_least=300.0,
    ),
    Rule(
        (401,),
        None,
        "reauthenticate",
        "401 UNAUTHENTICATED: the OAuth2 access token was refused; get a new one, try once more",
    ),
    Rule(
        (403,),
        "SENDER_ID_MISMATCH",
        "failed",
        "ErrorCode SENDER_ID_MISMATCH: the token belongs to another sender. It is not a dead "
        "token (manage-tokens names only UNREGISTERED and invalid-token 400s), and a deployment "
        "with the wrong project would otherwise deactivate every device at once",
    ),
    Rule(
        (403,),
        None,
        "pause",
        "403 PERMISSION_DENIED: the service account may not send for this project; every push "
        "of the app would be refused alike until its credentials are fixed",
    ),
    Rule(
        (404,),
        "UNREGISTERED",
        "token_invalid",
        "ErrorCode UNREGISTERED: the app instance was unregistered; stop using the token",
    ),
    Rule(
        (404,),
        None,
        "pause",
        "404 without UNREGISTERED: the app's project or endpoint does not exist (credentials)",
    ),
    Rule(
        (429,),
        None,
        "retry",
        "ErrorCode QUOTA_EXCEEDED: back off exponentially, first wait at least one minute, "
        "honour Retry-After",
        wait_at_least=60.0,
    ),
    Rule(
        SERVER_ERRORS,
        None,
        "retry",
        "ErrorCode UNAVAILABLE (503) and INTERNAL (500): retry with exponential backoff, "
        "honouring Retry-After",
    ),
)


def classify(reply: Reply, now: datetime) -> Verdict:
    """The verdict of the first matching row; an unknown reply fails this push only."""
    rule = next((r for r in RULES if r.matches(reply)), None)
    if rule is None:
        return Rejected("failed", f"unexpected reply: {describe(reply)}", reply.status)
    if rule.action == "delivered":
        name = reply.body.get("name") if isinstance(reply.body, dict) else None
        return Delivered(reply.status, name if isinstance(name, str) else None)
    reason = describe(reply)
    if rule.action in ("token_invalid", "failed"):
        outcome: Literal["token_invalid", "failed"] = (
            "token_invalid" if rule.action == "token_invalid" else "failed"
        )
        return Rejected(outcome, reason, reply.status)
    if rule.action == "retry":
        asked = parse_retry_after(reply.retry_after, now) or 0.0
        return RetryLater(reason, reply.status, max(asked, rule.wait_at_least))
    if rule.action == "reauthenticate":
        return Reauthenticate(reason, reply.status)
    asked = parse_retry_after(reply.retry_after, now) or 0.0
    return Pause(reason, reply.status, asked)


def describe(reply: Reply) -> str:
    """``<status> <code>: <message>``, short enough for a result event and a log line."""
    code = reply.fcm_code or reply.error.get("status") or "no error code"
    message = reply.message or "no message"
    return f"{reply.status} {code}: {message[:300]}"
