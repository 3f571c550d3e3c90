"""The provider instruments' labels: a bounded name per verdict and the reply's status."""

from __future__ import annotations

import pytest

from services.dispatcher.domain import (
    Delivered,
    Pause,
    Reauthenticate,
    Rejected,
    RetryLater,
    Verdict,
)
from services.dispatcher.metrics import status_label, verdict_label

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("verdict", "label", "status"),
    [
        (Delivered(200, "m-1"), "delivered", "200"),
        (Rejected("token_invalid", "Unregistered", 410), "token_invalid", "410"),
        (Rejected("failed", "PayloadTooLarge", 413), "failed", "413"),
        (RetryLater("connection reset", None), "retry", "none"),
        (RetryLater("TooManyRequests", 429, 5.0), "retry", "429"),
        (Reauthenticate("ExpiredProviderToken", 403), "reauthenticate", "403"),
        (Pause("InvalidProviderToken", 403), "pause", "403"),
    ],
)
def test_each_verdict_has_a_bounded_label_and_its_status(
    verdict: Verdict, label: str, status: str
) -> None:
    assert verdict_label(verdict) == label
    assert status_label(verdict) == status
