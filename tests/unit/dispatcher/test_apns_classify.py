"""APNs replies classified by the table, row by row, as Apple documents them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.dispatcher.domain import (
    Delivered,
    Pause,
    Rejected,
    RetryLater,
    Verdict,
)
from services.dispatcher.platforms.apns.classify import RULES, Reply, classify

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(200, apns_id="id-1"), Delivered(200, "id-1")),
        (Reply(400, "BadDeviceToken"), Rejected("token_invalid", "400 BadDeviceToken", 400)),
        (
            Reply(400, "DeviceTokenNotForTopic"),
            Rejected("failed", "400 DeviceTokenNotForTopic", 400),
        ),
        (Reply(400, "BadPriority"), Rejected("failed", "400 BadPriority", 400)),
        (Reply(400, "IdleTimeout"), RetryLater("400 IdleTimeout", 400)),
        (Reply(400, "TopicDisallowed"), Pause("400 TopicDisallowed", 400)),
        (Reply(403, "ExpiredProviderToken"), Pause("403 ExpiredProviderToken", 403)),
        (Reply(403, "InvalidProviderToken"), Pause("403 InvalidProviderToken", 403)),
        (Reply(403, "BadCertificateEnvironment"), Pause("403 BadCertificateEnvironment", 403)),
        (Reply(404, "BadPath"), Pause("404 BadPath", 404)),
        (Reply(413, "PayloadTooLarge"), Rejected("failed", "413 PayloadTooLarge", 413)),
        (Reply(429, "TooManyRequests"), RetryLater("429 TooManyRequests", 429)),
        (
            Reply(429, "TooManyProviderTokenUpdates"),
            Pause("429 TooManyProviderTokenUpdates", 429),
        ),
        (Reply(500, "InternalServerError"), RetryLater("500 InternalServerError", 500)),
        (Reply(503, "Shutdown"), RetryLater("503 Shutdown", 503)),
        (Reply(418, "Teapot"), Rejected("failed", "unexpected reply: 418 Teapot", 418)),
    ],
)
def test_each_reply_gets_its_verdict(reply: Reply, expected: Verdict) -> None:
    assert classify(reply, NOW) == expected


def test_unregistered_carries_the_time_apple_says_the_token_died() -> None:
    verdict = classify(Reply(410, "Unregistered", timestamp=1_768_478_400_123), NOW)

    assert isinstance(verdict, Rejected)
    assert verdict.outcome == "token_invalid"
    assert verdict.invalid_since == datetime(2026, 1, 15, 12, 0, 0, 123000, tzinfo=UTC)


def test_retry_after_is_honoured_when_apns_sends_one() -> None:
    verdict = classify(Reply(503, "ServiceUnavailable", retry_after="30"), NOW)

    assert verdict == RetryLater("503 ServiceUnavailable", 503, 30.0)


def test_every_row_cites_apple() -> None:
    assert all(rule.doc for rule in RULES)
