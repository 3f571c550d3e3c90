"""Dispatcher rules: backoff, Retry-After, TTL arithmetic and result ids."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

import pytest

from contracts.base import derived_id
from services.dispatcher import domain
from services.dispatcher.domain import RetryPolicy
from shared.platforms import ttl
from tests.support.clock import FrozenClock
from tests.support.factories import push_request

pytestmark = pytest.mark.unit

NOW = FrozenClock().now()
POLICY = RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=8.0)


@pytest.mark.parametrize(
    ("attempt", "low", "high"), [(1, 0.5, 1.0), (2, 1.0, 2.0), (3, 2.0, 4.0), (9, 4.0, 8.0)]
)
def test_backoff_doubles_within_a_jittered_window_and_is_capped(
    attempt: int, low: float, high: float
) -> None:
    assert POLICY.delay(attempt, wait_at_least=0, jitter=0.0) == low
    assert POLICY.delay(attempt, wait_at_least=0, jitter=0.999999) == pytest.approx(high, rel=1e-5)


def test_provider_wait_is_a_floor() -> None:
    assert POLICY.delay(1, wait_at_least=30.0, jitter=0.5) == 30.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        (format_datetime(NOW - timedelta(seconds=90), usegmt=True), 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_parses_seconds_and_http_dates(header: str | None, expected: float) -> None:
    assert domain.parse_retry_after(header, NOW) == expected


def test_no_ttl_never_expires() -> None:
    request = push_request(NOW, "fcm")
    much_later = NOW + timedelta(days=365)

    assert ttl.deadline(request) is None
    assert not domain.expired_before_sending(request, much_later)
    assert not domain.retry_would_expire(request, much_later, 3600)
    assert ttl.remaining_ttl(request, much_later) is None


def test_ttl_counts_from_acceptance() -> None:
    request = push_request(NOW, "fcm", options={"ttl_seconds": 60})

    assert ttl.remaining_ttl(request, NOW + timedelta(seconds=15)) == 45
    assert not domain.expired_before_sending(request, NOW + timedelta(seconds=59))
    assert domain.expired_before_sending(request, NOW + timedelta(seconds=60))
    assert ttl.remaining_ttl(request, NOW + timedelta(seconds=99)) == 0


def test_a_retry_that_lands_past_the_ttl_expires() -> None:
    request = push_request(NOW, "fcm", options={"ttl_seconds": 60})

    assert not domain.retry_would_expire(request, NOW + timedelta(seconds=50), 5)
    assert domain.retry_would_expire(request, NOW + timedelta(seconds=50), 10)


def test_ttl_zero_is_sent_once_and_never_retried() -> None:
    request = push_request(NOW, "fcm", options={"ttl_seconds": 0})

    assert not domain.expired_before_sending(request, NOW + timedelta(seconds=5))
    assert domain.retry_would_expire(request, NOW, 0.1)


def test_result_id_derives_from_the_request() -> None:
    request = push_request(NOW, "fcm")

    first = domain.result(request, NOW, outcome="delivered", attempts=1)
    again = domain.result(request, NOW + timedelta(hours=1), outcome="delivered", attempts=2)

    assert first.event_id == again.event_id == derived_id(request.event_id, "result")
    assert first.request_event_id == request.event_id
    assert (first.device_id, first.token, first.platform) == (
        request.device_id,
        request.token,
        "fcm",
    )
