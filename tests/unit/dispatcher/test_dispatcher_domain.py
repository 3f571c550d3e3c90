"""Dispatcher rules: backoff, Retry-After, retries up to the deadline, pauses, result ids."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

import pytest

from contracts.base import derived_id
from contracts.trace import MAX_REASON_CHARS
from services.dispatcher import domain
from services.dispatcher.domain import RetryPolicy
from shared.platforms import ttl
from shared.retry_after import parse_retry_after
from tests.support.clock import FrozenClock
from tests.support.factories import push_request

pytestmark = pytest.mark.unit

NOW = FrozenClock().now()
POLICY = RetryPolicy(base_delay=1.0, max_delay=8.0)
HORIZON = 86_400.0


@pytest.mark.parametrize(
    ("attempt", "low", "high"), [(1, 0.5, 1.0), (2, 1.0, 2.0), (3, 2.0, 4.0), (9, 4.0, 8.0)]
)
def test_backoff_doubles_within_a_jittered_window_and_is_capped(
    attempt: int, low: float, high: float
) -> None:
    assert POLICY.backoff(attempt, jitter=0.0) == low
    assert POLICY.backoff(attempt, jitter=0.999999) == pytest.approx(high, rel=1e-5)


def test_provider_wait_is_a_floor() -> None:
    request = push_request(NOW, "fcm", options={"ttl_seconds": 3600})

    at = domain.next_try(request, NOW, backoff=2.0, floor=30.0, horizon=HORIZON)

    assert at == NOW + timedelta(seconds=30)


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
    assert parse_retry_after(header, NOW) == expected


def test_no_ttl_never_expires() -> None:
    request = push_request(NOW, "fcm")
    much_later = NOW + timedelta(days=365)

    assert ttl.deadline(request) is None
    assert ttl.remaining_ttl(request, much_later) is None


def test_without_ttl_a_push_is_tried_until_the_horizon() -> None:
    request = push_request(NOW, "fcm")
    horizon = NOW + timedelta(seconds=HORIZON)

    assert domain.retry_deadline(request, HORIZON) == horizon
    assert not domain.expired_before_sending(request, horizon - timedelta(seconds=1), HORIZON)
    assert domain.expired_before_sending(request, horizon, HORIZON)


def test_ttl_counts_from_acceptance() -> None:
    request = push_request(NOW, "fcm", options={"ttl_seconds": 60})

    assert ttl.remaining_ttl(request, NOW + timedelta(seconds=15)) == 45
    assert not domain.expired_before_sending(request, NOW + timedelta(seconds=59), HORIZON)
    assert domain.expired_before_sending(request, NOW + timedelta(seconds=60), HORIZON)
    assert ttl.remaining_ttl(request, NOW + timedelta(seconds=99)) == 0


@pytest.mark.parametrize(
    ("after", "backoff", "floor", "expected"),
    [
        (50, 5.0, 0.0, 55.0),
        (50, 20.0, 0.0, 59.0),
        (50, 20.0, 9.0, 59.0),
        (50, 1.0, 9.5, None),
        (59, 1.0, 0.0, None),
    ],
)
def test_a_retry_never_lands_past_the_ttl_but_a_last_try_goes_before_it(
    after: float, backoff: float, floor: float, expected: float | None
) -> None:
    request = push_request(NOW, "fcm", options={"ttl_seconds": 60})
    now = NOW + timedelta(seconds=after)

    at = domain.next_try(request, now, backoff=backoff, floor=floor, horizon=HORIZON)

    assert at == (None if expected is None else NOW + timedelta(seconds=expected))


def test_a_paused_push_comes_back_at_the_pause_end_or_for_its_last_try() -> None:
    request = push_request(NOW, "fcm", options={"ttl_seconds": 60})
    soon, late = NOW + timedelta(seconds=30), NOW + timedelta(seconds=300)

    assert domain.held_until(request, NOW, soon, HORIZON) == soon
    assert domain.held_until(request, NOW, late, HORIZON) == NOW + timedelta(seconds=59)
    assert domain.held_until(request, NOW + timedelta(seconds=59), late, HORIZON) is None


def test_ttl_zero_is_sent_once_and_never_retried() -> None:
    request = push_request(NOW, "fcm", options={"ttl_seconds": 0})

    assert not domain.expired_before_sending(request, NOW + timedelta(seconds=5), HORIZON)
    assert domain.next_try(request, NOW, backoff=0.1, floor=0.0, horizon=HORIZON) is None
    assert domain.held_until(request, NOW, NOW + timedelta(seconds=30), HORIZON) is None


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


def test_a_result_is_the_sent_step_without_the_token() -> None:
    request = push_request(NOW, "apns")
    result = domain.result(
        request, NOW, outcome="token_invalid", attempts=2, reason="Unregistered", status=410
    )

    step = domain.traced_send(result)

    assert (step.stage, step.outcome, step.provider_status, step.reason, step.attempt) == (
        "sent",
        "token_invalid",
        410,
        "Unregistered",
        2,
    )
    assert (step.notification_id, step.user_id, step.device_id, step.platform) == (
        request.notification_id,
        request.user_id,
        request.device_id,
        "apns",
    )
    assert request.token not in step.model_dump_json()


def test_each_retry_is_its_own_step_and_a_long_reason_is_cut() -> None:
    at = NOW + timedelta(seconds=30)
    retry = push_request(NOW, "fcm", attempt=1, not_before=at)

    first = domain.traced_retry(retry, "503: " + "x" * 600, NOW)
    second = domain.traced_retry(retry.model_copy(update={"attempt": 2}), "503", NOW)

    assert (first.stage, first.until, first.attempt) == ("retry_scheduled", at, 1)
    assert first.reason == "503: " + "x" * (MAX_REASON_CHARS - 8) + "..."
    assert first.event_id != second.event_id
    assert first.event_id == domain.traced_retry(retry, "503", NOW + timedelta(seconds=1)).event_id
