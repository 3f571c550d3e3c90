"""The dispatcher's handlers with a recording publisher: where results, retries and dead letters go,
and how a retry batch waits for its pushes' time without holding its partition for long."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

import pytest
from aiokafka.errors import KafkaConnectionError

from contracts import topics
from contracts.base import Model
from contracts.push import PushRequest, PushResult
from contracts.topics import Topic
from contracts.trace import NotificationTraced
from services.dispatcher.delivery import Deliverer
from services.dispatcher.domain import (
    Delivered,
    PausePolicy,
    Rejected,
    RetryLater,
    RetryPolicy,
    Verdict,
)
from services.dispatcher.handlers import PushRequestHandler, RetryHandler
from services.dispatcher.pauses import Pauses
from shared.kafka import Publisher, Received
from tests.support.clock import FrozenClock
from tests.support.factories import push_request
from tests.support.publisher import RecordingPublisher

pytestmark = pytest.mark.unit


class ByToken:
    """Answers by token, and notes when each push was sent."""

    def __init__(self, clock: FrozenClock, verdicts: dict[str, Verdict]) -> None:
        self.clock = clock
        self.verdicts = verdicts
        self.sent_at: dict[str, datetime] = {}

    async def attempt(self, request: PushRequest, now: datetime) -> Verdict:
        self.sent_at[request.token] = self.clock.now()
        return self.verdicts.get(request.token, Delivered(200, "id"))

    async def close(self) -> None:
        return None


class ClockSleep:
    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds=seconds)


def received(request: PushRequest, offset: int = 0) -> Received[PushRequest]:
    return Received(request, "push.fcm", 0, offset, None, request.model_dump_json().encode())


def deliverer(provider: ByToken, clock: FrozenClock) -> Deliverer:
    policy = RetryPolicy(base_delay=1.0, max_delay=60.0)
    pauses = Pauses(PausePolicy(30.0, 300.0), lambda app_id: None)
    return Deliverer(provider, clock, policy, pauses, jitter=lambda: 0.0)


def retry_handler(
    bus: Publisher, provider: ByToken, clock: FrozenClock, sleep: ClockSleep
) -> RetryHandler:
    return RetryHandler(
        bus,
        deliverer(provider, clock),
        "fcm",
        clock,
        hold=10.0,
        batch_size=4,
        requeue_rate=100.0,
        sleep=sleep,
    )


async def test_first_tries_publish_results_retries_and_dead_letters() -> None:
    clock = FrozenClock()
    provider = ByToken(
        clock,
        {
            "busy:1": RetryLater("503", 503, 5.0),
            "big:1": Rejected("failed", "too big", 400),
        },
    )
    bus = RecordingPublisher()
    handler = PushRequestHandler(bus, deliverer(provider, clock), "fcm")
    fine, busy, big = (
        push_request(clock.now(), "fcm", token=t) for t in ("fine:1", "busy:1", "big:1")
    )
    stranger = push_request(clock.now(), "apns")
    sync = push_request(clock.now(), "fcm", token="sync:1", sync={"badge": 0, "badge_seq": 2})
    batch = (fine, busy, big, stranger, sync)

    parked = await handler([received(r, i) for i, r in enumerate(batch)])

    results = {r.token: r.outcome for r in bus.on(topics.RESULTS) if isinstance(r, PushResult)}
    assert results == {"fine:1": "delivered", "big:1": "failed", "sync:1": "delivered"}
    steps = [s for s in bus.on(topics.TRACE) if isinstance(s, NotificationTraced)]
    assert [(s.notification_id, s.stage, s.outcome, s.attempt) for s in steps] == [
        (fine.notification_id, "sent", "delivered", 1),
        (busy.notification_id, "retry_scheduled", None, 1),
        (big.notification_id, "sent", "failed", 1),
    ]
    assert (steps[1].until, steps[1].reason) == (clock.now() + timedelta(seconds=5), "503")
    [retry] = bus.on(topics.RETRY["fcm"])
    assert isinstance(retry, PushRequest)
    assert (retry.event_id, retry.attempt) == (busy.event_id, 1)
    assert retry.not_before == clock.now() + timedelta(seconds=5)
    assert [(p.received.message.event_id, p.reason) for p in parked] == [
        (stranger.event_id, "a apns push request on the fcm topic"),
        (big.event_id, "too big"),
    ]


async def test_a_retry_batch_sends_each_push_at_its_time_and_requeues_far_ones() -> None:
    clock = FrozenClock()
    start = clock.now()
    provider = ByToken(clock, {})
    bus = RecordingPublisher()
    sleep = ClockSleep(clock)
    handler = retry_handler(bus, provider, clock, sleep)

    def retry(token: str, seconds: float) -> PushRequest:
        request = push_request(start, "fcm", token=token, device_id=uuid.uuid4())
        return request.model_copy(
            update={"attempt": 1, "not_before": start + timedelta(seconds=seconds)}
        )

    soon, sooner, far = retry("soon:1", 8), retry("sooner:1", 3), retry("far:1", 300)

    await handler([received(soon, 0), received(sooner, 1), received(far, 2)])

    assert provider.sent_at == {
        "sooner:1": start + timedelta(seconds=3),
        "soon:1": start + timedelta(seconds=8),
    }
    assert [r.token for r in bus.on(topics.RESULTS) if isinstance(r, PushResult)] == [
        "sooner:1",
        "soon:1",
    ]
    assert bus.on(topics.RETRY["fcm"]) == [far]
    assert clock.now() - start == timedelta(seconds=10)


async def test_a_backlog_of_far_pushes_streams_back_at_the_requeue_rate_not_once_a_hold() -> None:
    clock = FrozenClock()
    start = clock.now()
    bus = RecordingPublisher()
    sleep = ClockSleep(clock)
    handler = retry_handler(bus, ByToken(clock, {}), clock, sleep)
    far = [
        push_request(start, "fcm", not_before=start + timedelta(minutes=5), attempt=1)
        for _ in range(4)
    ]

    await handler([received(r, i) for i, r in enumerate(far)])
    full_batch = clock.now() - start
    await handler([received(far[0], 4)])

    assert full_batch == timedelta(seconds=4 / 100.0)
    assert sleep.waits == [0.04, 10.0]
    assert bus.on(topics.RETRY["fcm"]) == [*far, far[0]]
    assert bus.on(topics.TRACE) == []


class Flaky:
    """A broker that refuses the first ``failures`` publishes."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.inner = RecordingPublisher()

    async def publish_all(self, items: Iterable[tuple[Topic, Model]]) -> None:
        if self.failures:
            self.failures -= 1
            raise KafkaConnectionError("broker away")
        await self.inner.publish_all(items)


async def test_when_publishing_fails_the_outcome_is_published_again_and_nothing_resent() -> None:
    clock = FrozenClock()
    provider = ByToken(clock, {})
    bus = Flaky(failures=3)
    sleep = ClockSleep(clock)
    handler = PushRequestHandler(bus, deliverer(provider, clock), "fcm", sleep=sleep)
    requests = [push_request(clock.now(), "fcm", token=f"t:{i}") for i in range(3)]

    await handler([received(r, i) for i, r in enumerate(requests)])

    assert len(provider.sent_at) == 3
    assert len(bus.inner.on(topics.RESULTS)) == 3
    assert sleep.waits == [0.2, 0.4, 0.8]
