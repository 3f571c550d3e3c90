"""Token buckets per credential: bursts allowed, floods refused with the wait, others untouched."""

from __future__ import annotations

import pytest

from shared.ratelimit import RateLimiter, RateLimitSettings, retry_after_header

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def limiter(clock: Clock, **settings: float) -> RateLimiter:
    values = {"rate_limit_key_per_second": 10.0, "rate_limit_key_burst": 3} | settings
    return RateLimiter(RateLimitSettings(**values), monotonic=clock)  # type: ignore[arg-type]


def test_a_burst_passes_then_the_flood_waits() -> None:
    clock = Clock()
    limits = limiter(clock)

    allowed = [limits.take("key:a", user=False) for _ in range(3)]
    refused = limits.take("key:a", user=False)

    assert allowed == [None, None, None]
    assert refused == pytest.approx(0.1)
    clock.now += 0.1
    assert limits.take("key:a", user=False) is None


def test_one_credentials_flood_does_not_touch_another() -> None:
    clock = Clock()
    limits = limiter(clock)
    for _ in range(10):
        limits.take("key:flood", user=False)

    assert limits.take("key:calm", user=False) is None


def test_user_tokens_have_their_own_smaller_limit() -> None:
    clock = Clock()
    limits = limiter(clock, rate_limit_user_per_second=1.0, rate_limit_user_burst=1)

    assert limits.take("user:a:u", user=True) is None
    assert limits.take("user:a:u", user=True) == pytest.approx(1.0)


def test_the_least_recent_credentials_are_forgotten_past_the_cap() -> None:
    clock = Clock()
    limits = limiter(clock, rate_limit_tracked_credentials=100)
    for index in range(150):
        limits.take(f"key:{index}", user=False)

    assert len(limits._buckets) == 100


def test_retry_after_is_whole_seconds_and_never_zero() -> None:
    assert retry_after_header(0.01) == "1"
    assert retry_after_header(2.2) == "3"
