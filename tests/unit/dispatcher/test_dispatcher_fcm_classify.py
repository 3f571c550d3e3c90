"""FCM reply classification: every documented reply maps to the verdict the table promises."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from services.dispatcher.domain import (
    Delivered,
    Pause,
    Reauthenticate,
    Rejected,
    RetryLater,
)
from services.dispatcher.platforms.fcm.classify import RULES, Reply, classify
from tests.support.clock import FrozenClock

pytestmark = pytest.mark.unit

NOW = FrozenClock().now()


def error(code: int, status: str, message: str, fcm_code: str | None = None) -> dict[str, Any]:
    details: list[dict[str, Any]] = []
    if fcm_code is not None:
        details.append(
            {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcm_code}
        )
    return {"error": {"code": code, "message": message, "status": status, "details": details}}


def test_success_is_delivered_with_the_message_name() -> None:
    verdict = classify(Reply(200, {"name": "projects/p/messages/1"}), NOW)

    assert verdict == Delivered(200, "projects/p/messages/1")


def test_unregistered_token_is_invalid() -> None:
    reply = Reply(404, error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED"))

    verdict = classify(reply, NOW)

    assert isinstance(verdict, Rejected)
    assert verdict.outcome == "token_invalid"
    assert verdict.status == 404
    assert "UNREGISTERED" in verdict.reason


def test_invalid_argument_naming_the_registration_token_is_an_invalid_token() -> None:
    body = error(
        400,
        "INVALID_ARGUMENT",
        "The registration token is not a valid FCM registration token",
        "INVALID_ARGUMENT",
    )

    verdict = classify(Reply(400, body), NOW)

    assert isinstance(verdict, Rejected)
    assert verdict.outcome == "token_invalid"


def test_invalid_argument_pointing_at_the_token_field_is_an_invalid_token() -> None:
    body = error(400, "INVALID_ARGUMENT", "Invalid value", "INVALID_ARGUMENT")
    body["error"]["details"].append(
        {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": "message.token", "description": "bad"}],
        }
    )

    verdict = classify(Reply(400, body), NOW)

    assert isinstance(verdict, Rejected)
    assert verdict.outcome == "token_invalid"


def test_other_invalid_arguments_fail_the_push_but_keep_the_token() -> None:
    body = error(400, "INVALID_ARGUMENT", "Message is too big", "INVALID_ARGUMENT")

    verdict = classify(Reply(400, body), NOW)

    assert isinstance(verdict, Rejected)
    assert verdict.outcome == "failed"


def test_sender_id_mismatch_fails_without_deactivating_the_token() -> None:
    body = error(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH")

    verdict = classify(Reply(403, body), NOW)

    assert isinstance(verdict, Rejected)
    assert verdict.outcome == "failed"


def test_third_party_auth_error_waits_for_the_project_to_be_fixed() -> None:
    body = error(401, "UNAUTHENTICATED", "APNs auth error", "THIRD_PARTY_AUTH_ERROR")

    verdict = classify(Reply(401, body), NOW)

    assert isinstance(verdict, RetryLater)
    assert verdict.wait_at_least == 300.0


def test_refused_access_token_asks_for_reauthentication() -> None:
    verdict = classify(Reply(401, error(401, "UNAUTHENTICATED", "bad token")), NOW)

    assert isinstance(verdict, Reauthenticate)


@pytest.mark.parametrize(
    "reply",
    [
        Reply(403, error(403, "PERMISSION_DENIED", "Permission denied on project")),
        Reply(404, error(404, "NOT_FOUND", "project not found")),
        Reply(404, None),
    ],
)
def test_refusals_of_the_apps_project_or_account_pause_the_app(reply: Reply) -> None:
    assert isinstance(classify(reply, NOW), Pause)


def test_quota_exceeded_waits_at_least_a_minute() -> None:
    body = error(429, "RESOURCE_EXHAUSTED", "quota", "QUOTA_EXCEEDED")

    verdict = classify(Reply(429, body, retry_after="5"), NOW)

    assert isinstance(verdict, RetryLater)
    assert verdict.wait_at_least == 60.0


@pytest.mark.parametrize(
    ("status", "fcm_code"), [(503, "UNAVAILABLE"), (500, "INTERNAL"), (502, None)]
)
def test_server_errors_are_retried(status: int, fcm_code: str | None) -> None:
    verdict = classify(Reply(status, error(status, "UNAVAILABLE", "down", fcm_code)), NOW)

    assert isinstance(verdict, RetryLater)
    assert verdict.wait_at_least == 0.0


def test_retry_after_in_seconds_is_honoured() -> None:
    verdict = classify(Reply(503, error(503, "UNAVAILABLE", "down"), retry_after="17"), NOW)

    assert isinstance(verdict, RetryLater)
    assert verdict.wait_at_least == 17.0


def test_retry_after_as_http_date_is_honoured() -> None:
    when = format_datetime(NOW + timedelta(seconds=42), usegmt=True)

    verdict = classify(Reply(503, error(503, "UNAVAILABLE", "down"), retry_after=when), NOW)

    assert isinstance(verdict, RetryLater)
    assert verdict.wait_at_least == 42.0


def test_an_unknown_reply_fails_only_this_push() -> None:
    verdict = classify(Reply(418, "not json"), NOW)

    assert isinstance(verdict, Rejected)
    assert verdict.outcome == "failed"
    assert verdict.reason.startswith("unexpected reply: 418")


def test_every_row_cites_why() -> None:
    assert all(len(rule.doc) > 20 for rule in RULES)
