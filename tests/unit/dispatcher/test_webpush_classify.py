"""Push service replies classified by the table, row by row: a VAPID refusal naming a key
mismatch is the subscription's, any other pauses the app."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.dispatcher.domain import Delivered, Pause, Rejected, RetryLater, Verdict
from services.dispatcher.platforms.webpush.classify import RULES, Reply, classify

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(201, location="https://p/m/1"), Delivered(201, "https://p/m/1")),
        (Reply(404, "gone"), Rejected("token_invalid", "404: gone", 404)),
        (Reply(410), Rejected("token_invalid", "410", 410)),
        (Reply(413), Rejected("failed", "413", 413)),
        (Reply(403, "bad  vapid\nkey"), Pause("403: bad vapid key", 403)),
        (Reply(401, "Unauthorized"), Pause("401: Unauthorized", 401)),
        (
            Reply(403, "the VAPID key is not the subscription's applicationServerKey"),
            Rejected(
                "failed", "403: the VAPID key is not the subscription's applicationServerKey", 403
            ),
        ),
        (
            Reply(401, '{"errno": 109, "message": "VAPID public key mismatch"}'),
            Rejected("failed", '401: {"errno": 109, "message": "VAPID public key mismatch"}', 401),
        ),
        (
            Reply(403, "the key in the authorization header does not correspond to the sender"),
            Rejected(
                "failed",
                "403: the key in the authorization header does not correspond to the sender",
                403,
            ),
        ),
        (Reply(400), Rejected("failed", "400", 400)),
        (Reply(429, retry_after="12"), RetryLater("429", 429, 12.0)),
        (
            Reply(503, retry_after="Thu, 15 Jan 2026 12:01:00 GMT"),
            RetryLater("503", 503, 60.0),
        ),
        (Reply(302), Rejected("failed", "unexpected reply: 302", 302)),
    ],
)
def test_each_reply_gets_its_verdict(reply: Reply, expected: Verdict) -> None:
    assert classify(reply, NOW) == expected


def test_every_row_cites_its_rfc() -> None:
    assert all("RFC" in rule.doc for rule in RULES)
