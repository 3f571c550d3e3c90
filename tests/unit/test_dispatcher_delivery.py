"""The delivery loop against a scripted provider: retries, expiry, halts and bounded work."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from contracts.push import PushRequest
from services.dispatcher.delivery import Deliverer, deliver_all
from services.dispatcher.domain import (
    Delivered,
    Halt,
    Reauthenticate,
    Rejected,
    RetryLater,
    RetryPolicy,
    Verdict,
)
from shared.errors import TransientError
from shared.logs import token_ref
from tests.support.clock import FrozenClock
from tests.support.fcm import push_request

pytestmark = pytest.mark.unit

POLICY = RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=60.0)


class ScriptedProvider:
    """Answers attempts from a script, one verdict per attempt, and counts what it saw."""

    def __init__(self, script: Sequence[Verdict], *, pause: float = 0.0) -> None:
        self.script = list(script)
        self.sent: list[tuple[PushRequest, datetime]] = []
        self.pause = pause
        self.in_flight = 0
        self.most_in_flight = 0

    async def attempt(self, request: PushRequest, now: datetime) -> Verdict:
        self.sent.append((request, now))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.pause)
        finally:
            self.in_flight -= 1
        return self.script.pop(0) if self.script else Delivered(200, "name")

    async def close(self) -> None:
        return None


class ClockSleep:
    """Sleeping moves the frozen clock instead of waiting."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds=seconds)


def deliverer(provider: ScriptedProvider, clock: FrozenClock) -> tuple[Deliverer, ClockSleep]:
    sleep = ClockSleep(clock)
    return Deliverer(provider, clock, POLICY, sleep=sleep, jitter=lambda: 0.0), sleep


async def test_delivered_first_time() -> None:
    clock = FrozenClock()
    provider = ScriptedProvider([Delivered(200, "projects/p/messages/1")])
    subject, sleep = deliverer(provider, clock)

    result = await subject.deliver(push_request(clock.now()))

    assert (result.outcome, result.attempts, result.provider_message_id) == (
        "delivered",
        1,
        "projects/p/messages/1",
    )
    assert sleep.waits == []


async def test_passing_failures_are_retried_with_backoff_and_provider_floor() -> None:
    clock = FrozenClock()
    provider = ScriptedProvider(
        [RetryLater("503 UNAVAILABLE", 503, wait_at_least=7.0), RetryLater("conn", None)]
    )
    subject, sleep = deliverer(provider, clock)

    result = await subject.deliver(push_request(clock.now()))

    assert (result.outcome, result.attempts, result.provider_status) == ("delivered", 3, 200)
    assert sleep.waits == [7.0, 1.0]
    assert [sent_at for _, sent_at in provider.sent] == [
        clock.now() - timedelta(seconds=8),
        clock.now() - timedelta(seconds=1),
        clock.now(),
    ]


async def test_an_unreachable_provider_halts_instead_of_failing_every_push() -> None:
    clock = FrozenClock()
    provider = ScriptedProvider([RetryLater("connection refused", None)] * 5)
    subject, sleep = deliverer(provider, clock)

    with pytest.raises(TransientError, match="unreachable after 3 attempts"):
        await subject.deliver(push_request(clock.now()))
    assert len(sleep.waits) == 2


async def test_gives_up_after_max_attempts() -> None:
    clock = FrozenClock()
    provider = ScriptedProvider([RetryLater("503 UNAVAILABLE: down", 503)] * 5)
    subject, _ = deliverer(provider, clock)

    result = await subject.deliver(push_request(clock.now()))

    assert result.outcome == "failed"
    assert result.attempts == 3
    assert result.reason == "gave up after 3 attempts: 503 UNAVAILABLE: down"
    assert len(provider.sent) == 3


async def test_a_wait_longer_than_allowed_fails_at_once() -> None:
    clock = FrozenClock()
    provider = ScriptedProvider([RetryLater("429", 429, wait_at_least=600.0)])
    subject, sleep = deliverer(provider, clock)

    result = await subject.deliver(push_request(clock.now()))

    assert result.outcome == "failed"
    assert result.attempts == 1
    assert sleep.waits == []


async def test_a_retry_past_the_ttl_expires() -> None:
    clock = FrozenClock()
    provider = ScriptedProvider([RetryLater("503", 503, wait_at_least=30.0)])
    subject, sleep = deliverer(provider, clock)

    result = await subject.deliver(push_request(clock.now(), options={"ttl_seconds": 20}))

    assert (result.outcome, result.attempts, result.provider_status) == ("expired", 1, 503)
    assert sleep.waits == []


async def test_expired_before_sending_is_never_sent() -> None:
    clock = FrozenClock()
    request = push_request(clock.now(), options={"ttl_seconds": 20})
    clock.advance(seconds=21)
    provider = ScriptedProvider([])
    subject, _ = deliverer(provider, clock)

    result = await subject.deliver(request)

    assert result.outcome == "expired"
    assert result.attempts == 0
    assert provider.sent == []


async def test_permanent_rejection_is_reported_with_token_hidden_from_the_reason() -> None:
    clock = FrozenClock()
    request = push_request(clock.now(), token="secret-device-token")
    provider = ScriptedProvider([Rejected("token_invalid", "bad secret-device-token", 404)])
    subject, _ = deliverer(provider, clock)

    result = await subject.deliver(request)

    assert result.outcome == "token_invalid"
    assert result.reason == f"bad {token_ref('secret-device-token')}"


async def test_refused_credentials_are_renewed_once() -> None:
    clock = FrozenClock()
    provider = ScriptedProvider([Reauthenticate("401", 401)])
    subject, sleep = deliverer(provider, clock)

    result = await subject.deliver(push_request(clock.now()))

    assert (result.outcome, result.attempts) == ("delivered", 2)
    assert sleep.waits == []


async def test_credentials_refused_twice_halt_the_batch() -> None:
    clock = FrozenClock()
    provider = ScriptedProvider([Reauthenticate("401", 401), Reauthenticate("401", 401)])
    subject, _ = deliverer(provider, clock)

    with pytest.raises(TransientError):
        await subject.deliver(push_request(clock.now()))


async def test_halt_stops_the_whole_batch() -> None:
    clock = FrozenClock()
    provider = ScriptedProvider([Halt("403 PERMISSION_DENIED", 403)], pause=0.01)
    subject, _ = deliverer(provider, clock)
    requests = [push_request(clock.now()) for _ in range(10)]

    with pytest.raises(TransientError, match="PERMISSION_DENIED"):
        await deliver_all(subject, requests, max_in_flight=2)


async def test_batch_results_keep_request_order_and_work_in_flight_is_bounded() -> None:
    clock = FrozenClock()
    provider = ScriptedProvider([], pause=0.001)
    subject, _ = deliverer(provider, clock)
    requests = [push_request(clock.now()) for _ in range(25)]

    results = await deliver_all(subject, requests, max_in_flight=4)

    assert [r.request_event_id for r in results] == [r.event_id for r in requests]
    assert provider.most_in_flight == 4
