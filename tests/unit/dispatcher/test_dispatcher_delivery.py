"""Delivery steps against a scripted provider: retries as requests until the deadline, expiry,
pauses, errors kept to their push, bounded work."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from contracts.push import PushRequest, PushResult
from services.dispatcher.delivery import Again, Deliverer, Done, step_all
from services.dispatcher.domain import (
    Delivered,
    PausePolicy,
    Reauthenticate,
    Rejected,
    RetryLater,
    RetryPolicy,
    Verdict,
)
from services.dispatcher.pauses import Pauses
from services.dispatcher.platforms.base import Provider
from shared.logs import token_ref
from tests.support.clock import FrozenClock
from tests.support.factories import push_request

pytestmark = pytest.mark.unit

POLICY = RetryPolicy(base_delay=1.0, max_delay=60.0)


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


class RaisingFor:
    """Delivers every push but one, for which rendering raises (an input no check foresaw)."""

    def __init__(self, poisoned: uuid.UUID) -> None:
        self.poisoned = poisoned
        self.sent: list[uuid.UUID] = []

    async def attempt(self, request: PushRequest, now: datetime) -> Verdict:
        self.sent.append(request.event_id)
        await asyncio.sleep(0.001)
        if request.event_id == self.poisoned:
            raise ValueError("Invalid EC key.")
        return Delivered(201, "location")

    async def close(self) -> None:
        return None


@dataclass
class Outcome:
    """Where a push ended after its steps, and how long each retry waited for its time."""

    result: PushResult
    dead_letter: str | None
    waits: list[float]


async def drive(subject: Deliverer, clock: FrozenClock, request: PushRequest) -> Outcome:
    """Step a push to its end, playing the retry topic: each retry goes at its not_before."""
    waits: list[float] = []
    while True:
        step = await subject.step(request)
        if isinstance(step, Done):
            return Outcome(step.result, step.dead_letter, waits)
        assert isinstance(step, Again)
        request = step.request
        assert request.not_before is not None
        wait = (request.not_before - clock.now()).total_seconds()
        waits.append(wait)
        clock.advance(seconds=wait)


def pauses() -> Pauses:
    return Pauses(PausePolicy(first=30.0, longest=300.0), lambda app_id: None)


def deliverer(provider: Provider, clock: FrozenClock, in_flight: int = 64) -> Deliverer:
    return Deliverer(provider, clock, POLICY, pauses(), max_in_flight=in_flight, jitter=lambda: 0.0)


async def test_delivered_first_time() -> None:
    clock = FrozenClock()
    provider = ScriptedProvider([Delivered(200, "projects/p/messages/1")])

    end = await drive(deliverer(provider, clock), clock, push_request(clock.now(), "fcm"))

    assert (end.result.outcome, end.result.attempts, end.result.provider_message_id) == (
        "delivered",
        1,
        "projects/p/messages/1",
    )
    assert end.waits == []


async def test_a_passing_failure_becomes_a_retry_with_its_count_and_time() -> None:
    clock = FrozenClock()
    request = push_request(clock.now(), "fcm")
    subject = deliverer(ScriptedProvider([RetryLater("503", 503, wait_at_least=7.0)]), clock)

    step = await subject.step(request)

    assert isinstance(step, Again)
    assert step.request.event_id == request.event_id
    assert step.request.attempt == 1
    assert step.request.not_before == clock.now() + timedelta(seconds=7)


async def test_passing_failures_are_retried_with_backoff_and_provider_floor() -> None:
    clock = FrozenClock()
    provider = ScriptedProvider(
        [RetryLater("503 UNAVAILABLE", 503, wait_at_least=7.0), RetryLater("conn", None)]
    )

    end = await drive(deliverer(provider, clock), clock, push_request(clock.now(), "fcm"))

    assert (end.result.outcome, end.result.attempts, end.result.provider_status) == (
        "delivered",
        3,
        200,
    )
    assert end.waits == [7.0, 1.0]
    assert [sent_at for _, sent_at in provider.sent] == [
        clock.now() - timedelta(seconds=8),
        clock.now() - timedelta(seconds=1),
        clock.now(),
    ]


async def test_an_unreachable_provider_is_waited_for_however_many_attempts_it_takes() -> None:
    clock = FrozenClock()
    provider = ScriptedProvider([RetryLater("connection refused", None)] * 12)

    end = await drive(deliverer(provider, clock), clock, push_request(clock.now(), "fcm"))

    assert (end.result.outcome, end.result.attempts) == ("delivered", 13)
    assert end.waits == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.0]


async def test_503s_never_fail_a_push_within_its_ttl() -> None:
    clock = FrozenClock()
    provider = ScriptedProvider([RetryLater("503 UNAVAILABLE: down", 503)] * 50)

    end = await drive(
        deliverer(provider, clock),
        clock,
        push_request(clock.now(), "fcm", options={"ttl_seconds": 86_400}),
    )

    assert (end.result.outcome, end.result.attempts) == ("delivered", 51)
    assert end.dead_letter is None


async def test_a_push_without_ttl_is_retried_until_the_horizon_then_expires() -> None:
    clock = FrozenClock()
    start = clock.now()
    provider = ScriptedProvider([RetryLater("503 UNAVAILABLE: down", 503)] * 10_000)
    subject = Deliverer(
        provider,
        clock,
        RetryPolicy(base_delay=1.0, max_delay=600.0, horizon=86_400.0),
        pauses(),
        jitter=lambda: 0.0,
    )

    end = await drive(subject, clock, push_request(clock.now(), "fcm"))

    assert end.result.outcome == "expired"
    assert end.result.reason == "TTL runs out before a retry: 503 UNAVAILABLE: down"
    assert end.dead_letter is None
    assert clock.now() - start == timedelta(days=1) - timedelta(seconds=1)
    assert len(provider.sent) == end.result.attempts


async def test_a_retry_after_longer_than_any_backoff_is_honoured() -> None:
    clock = FrozenClock()
    provider = ScriptedProvider([RetryLater("429", 429, wait_at_least=7200.0)])

    end = await drive(deliverer(provider, clock), clock, push_request(clock.now(), "fcm"))

    assert (end.result.outcome, end.result.attempts) == ("delivered", 2)
    assert end.waits == [7200.0]


async def test_a_long_retry_after_within_the_ttl_is_honoured() -> None:
    clock = FrozenClock()
    provider = ScriptedProvider([RetryLater("429", 429, wait_at_least=600.0)])

    end = await drive(
        deliverer(provider, clock),
        clock,
        push_request(clock.now(), "fcm", options={"ttl_seconds": 900}),
    )

    assert (end.result.outcome, end.result.attempts) == ("delivered", 2)
    assert end.waits == [600.0]


async def test_a_retry_after_past_the_ttl_expires_the_push() -> None:
    clock = FrozenClock()
    provider = ScriptedProvider([RetryLater("503", 503, wait_at_least=30.0)])

    end = await drive(
        deliverer(provider, clock),
        clock,
        push_request(clock.now(), "fcm", options={"ttl_seconds": 20}),
    )

    assert (end.result.outcome, end.result.attempts, end.result.provider_status) == (
        "expired",
        1,
        503,
    )
    assert end.dead_letter is None
    assert end.waits == []


async def test_a_backoff_past_the_ttl_becomes_a_last_try_before_it() -> None:
    clock = FrozenClock()
    provider = ScriptedProvider([RetryLater("503", 503)] * 5)

    end = await drive(
        deliverer(provider, clock),
        clock,
        push_request(clock.now(), "fcm", options={"ttl_seconds": 10}),
    )

    assert (end.result.outcome, end.result.attempts) == ("delivered", 6)
    assert end.waits == [0.5, 1.0, 2.0, 4.0, 1.5]


async def test_expired_before_sending_is_never_sent() -> None:
    clock = FrozenClock()
    request = push_request(clock.now(), "fcm", options={"ttl_seconds": 20})
    clock.advance(seconds=21)
    provider = ScriptedProvider([])

    end = await drive(deliverer(provider, clock), clock, request)

    assert end.result.outcome == "expired"
    assert end.result.attempts == 0
    assert provider.sent == []


async def test_a_retry_that_expired_while_waiting_keeps_its_attempt_count() -> None:
    clock = FrozenClock()
    request = push_request(clock.now(), "fcm", options={"ttl_seconds": 20})
    retry = request.model_copy(update={"attempt": 2, "not_before": clock.now()})
    clock.advance(seconds=25)

    step = await deliverer(ScriptedProvider([]), clock).step(retry)

    assert isinstance(step, Done)
    assert (step.result.outcome, step.result.attempts) == ("expired", 2)


async def test_permanent_rejection_is_reported_with_token_hidden_from_the_reason() -> None:
    clock = FrozenClock()
    request = push_request(clock.now(), "fcm", token="secret-device-token")
    since = clock.now() - timedelta(days=1)
    provider = ScriptedProvider(
        [Rejected("token_invalid", "bad secret-device-token", 404, invalid_since=since)]
    )

    end = await drive(deliverer(provider, clock), clock, request)

    assert end.result.outcome == "token_invalid"
    assert end.result.reason == f"bad {token_ref('secret-device-token')}"
    assert end.result.invalid_since == since
    assert end.dead_letter is None


async def test_a_push_the_provider_refuses_for_good_is_dead_lettered() -> None:
    clock = FrozenClock()
    provider = ScriptedProvider([Rejected("failed", "400 INVALID_ARGUMENT: too big", 400)])

    end = await drive(deliverer(provider, clock), clock, push_request(clock.now(), "fcm"))

    assert end.result.outcome == "failed"
    assert end.dead_letter == "400 INVALID_ARGUMENT: too big"


async def test_refused_credentials_are_renewed_once() -> None:
    clock = FrozenClock()
    provider = ScriptedProvider([Reauthenticate("401", 401)])

    end = await drive(deliverer(provider, clock), clock, push_request(clock.now(), "fcm"))

    assert (end.result.outcome, end.result.attempts) == ("delivered", 2)
    assert end.waits == []


async def test_credentials_refused_twice_pause_the_app_without_counting_an_attempt() -> None:
    clock = FrozenClock()
    provider = ScriptedProvider([Reauthenticate("401", 401), Reauthenticate("401", 401)])
    request = push_request(clock.now(), "fcm", attempt=2)

    step = await deliverer(provider, clock).step(request)

    assert isinstance(step, Again)
    assert step.request.attempt == 2
    assert step.request.not_before == clock.now() + timedelta(seconds=30)


async def test_an_exception_while_sending_one_push_fails_that_push_only() -> None:
    clock = FrozenClock()
    requests = [push_request(clock.now(), "fcm") for _ in range(5)]
    provider = RaisingFor(requests[2].event_id)

    steps = await step_all(deliverer(provider, clock, in_flight=2), requests)

    outcomes = [s.result.outcome for s in steps if isinstance(s, Done)]
    assert outcomes == ["delivered", "delivered", "failed", "delivered", "delivered"]
    failed = steps[2]
    assert isinstance(failed, Done)
    assert failed.dead_letter == "ValueError while sending: Invalid EC key."
    assert provider.sent.count(requests[0].event_id) == 1


async def test_batch_steps_keep_request_order_and_work_in_flight_is_bounded() -> None:
    clock = FrozenClock()
    provider = ScriptedProvider([], pause=0.001)
    requests = [push_request(clock.now(), "fcm") for _ in range(25)]

    steps = await step_all(deliverer(provider, clock, in_flight=4), requests)

    assert [s.result.request_event_id for s in steps if isinstance(s, Done)] == [
        r.event_id for r in requests
    ]
    assert provider.most_in_flight == 4


async def test_the_in_flight_cap_is_shared_by_concurrent_batches() -> None:
    clock = FrozenClock()
    provider = ScriptedProvider([], pause=0.001)
    subject = deliverer(provider, clock, in_flight=3)
    first = [push_request(clock.now(), "fcm") for _ in range(10)]
    second = [push_request(clock.now(), "fcm") for _ in range(10)]

    await asyncio.gather(step_all(subject, first), step_all(subject, second))

    assert provider.most_in_flight == 3
