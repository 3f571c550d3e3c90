"""One behaviour suite, run against each provider's emulator through the real broker.

Each test starts a dispatcher for the platform (first tries and retries) in this event loop, feeds
push requests into its topic and reads results, dead letters and what the emulator accepted.
Waiting between attempts moves a frozen clock that the APNs and Web Push emulators share.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from contracts import topics
from contracts.deadletter import DeadLetter
from contracts.push import Platform, PushResult
from services.dispatcher.app import build
from services.dispatcher.settings import DispatcherSettings
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.ports import free_port
from tests.support.clock import FrozenClock
from tests.support.factories import push_request
from tests.support.kafka import TopicIO, kafka_settings_for_test
from tests.support.providers import ProviderHarness, provider
from tests.support.services import running

pytestmark = pytest.mark.integration

PLATFORMS: list[Platform] = ["apns", "fcm", "webpush"]


class ClockSleep:
    """Waiting between attempts moves the frozen clock instead of the test waiting."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds=seconds)


@asynccontextmanager
async def dispatching(
    broker: EmbeddedBroker, harness: ProviderHarness, clock: FrozenClock, sleep: ClockSleep
) -> AsyncIterator[TopicIO]:
    kafka = kafka_settings_for_test(broker.bootstrap)
    settings = DispatcherSettings(
        **kafka.model_dump(),
        **harness.settings,
        http_port=free_port(),
        dispatcher_retry_base_delay_seconds=2.0,
    )
    async with running(await build(settings, clock, sleep)):
        yield TopicIO(kafka)


@pytest.fixture(params=PLATFORMS)
async def harness(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[ProviderHarness]:
    async with provider(request.param, tmp_path, clock) as running_provider:
        yield running_provider


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now().astimezone())


def decoded(platform: Platform, accepted: dict[str, Any]) -> dict[str, Any]:
    """Title, body, badge, collapse id, notification id and data as each provider carries them."""
    if platform == "apns":
        aps = accepted["payload"]["aps"]
        return {
            "title": aps["alert"]["title"],
            "body": aps["alert"]["body"],
            "badge": aps.get("badge"),
            "collapse": accepted["headers"]["apns-collapse-id"],
            "notification_id": accepted["payload"]["herald_notification_id"],
            "data": accepted["payload"]["order"],
        }
    if platform == "fcm":
        message = accepted["message"]
        return {
            "title": message["notification"]["title"],
            "body": message["notification"]["body"],
            "badge": message["android"]["notification"]["notification_count"],
            "collapse": message["android"]["collapse_key"],
            "notification_id": message["data"]["herald_notification_id"],
            "data": message["data"]["order"],
        }
    payload = json.loads(accepted["payload"])
    return {
        "title": payload["notification"]["title"],
        "body": payload["notification"]["options"]["body"],
        "badge": payload["herald"]["herald_badge"],
        "collapse": accepted["headers"]["topic"],
        "notification_id": payload["herald"]["herald_notification_id"],
        "data": payload["data"]["order"],
    }


async def test_a_push_arrives_with_the_right_headers_and_payload(
    broker: EmbeddedBroker, harness: ProviderHarness, clock: FrozenClock
) -> None:
    token = await harness.new_token()
    request = push_request(
        clock.now(),
        harness.platform,
        token,
        content={"title": "Order shipped", "body": "On its way", "data": {"order": "42"}},
        badge=7,
        badge_seq=3,
        options={"collapse_key": "orders", "ttl_seconds": 3600, "priority": "high"},
    )
    async with dispatching(broker, harness, clock, ClockSleep(clock)) as io:
        await io.produce(topics.PUSH[harness.platform], request)
        [result] = await io.read(topics.RESULTS, until=lambda found: len(found) >= 1)
    [accepted] = await harness.accepted(token)

    assert isinstance(result, PushResult)
    assert (result.outcome, result.attempts, result.device_id) == (
        "delivered",
        1,
        request.device_id,
    )
    assert decoded(harness.platform, accepted) == {
        "title": "Order shipped",
        "body": "On its way",
        "badge": 7,
        "collapse": "orders",
        "notification_id": str(request.notification_id),
        "data": "42",
    }
    if harness.platform == "apns":
        assert accepted["apns_id"] == str(request.event_id)
        assert accepted["headers"]["apns-push-type"] == "alert"
        assert accepted["headers"]["apns-priority"] == 10
        assert accepted["headers"]["apns-topic"] == harness.settings["apns_topic"]
    if harness.platform == "webpush":
        assert accepted["headers"]["urgency"] == "high"
        assert accepted["headers"]["ttl"] == "3600"
        assert accepted["vapid"]["sub"].startswith("mailto:")


async def test_a_dead_token_is_reported_invalid_and_nothing_is_delivered(
    broker: EmbeddedBroker, harness: ProviderHarness, clock: FrozenClock
) -> None:
    dead, alive = await harness.new_token(), await harness.new_token()
    await harness.kill(dead)
    requests = [push_request(clock.now(), harness.platform, token) for token in (dead, alive)]
    async with dispatching(broker, harness, clock, ClockSleep(clock)) as io:
        await io.produce(topics.PUSH[harness.platform], *requests)
        results = await io.read(topics.RESULTS, until=lambda found: len(found) >= 2)
        steps = await io.read(topics.TRACE, until=lambda found: len(found) >= 2)

    outcome = {result.token: result for result in results}
    assert outcome[dead].outcome == "token_invalid"
    assert outcome[alive].outcome == "delivered"
    sent = {step.device_id: step for step in steps}
    for request in requests:
        result = outcome[request.token]
        step = sent[request.device_id]
        assert (step.stage, step.outcome, step.provider_status, step.platform) == (
            "sent",
            result.outcome,
            result.provider_status,
            harness.platform,
        )
    assert not any(token in step.model_dump_json() for step in steps for token in (dead, alive))
    assert await harness.accepted(dead) == []
    if harness.platform == "apns":
        assert outcome[dead].provider_status == 410
        assert outcome[dead].invalid_since is not None


async def test_429_with_retry_after_waits_then_delivers(
    broker: EmbeddedBroker, harness: ProviderHarness, clock: FrozenClock
) -> None:
    token = await harness.new_token()
    await harness.fault(429, 1, "120")
    sleep = ClockSleep(clock)
    first_try = clock.now()
    request = push_request(first_try, harness.platform, token)
    async with dispatching(broker, harness, clock, sleep) as io:
        await io.produce(topics.PUSH[harness.platform], request)
        [result] = await io.read(topics.RESULTS, until=lambda found: len(found) >= 1)
    accepted = await harness.accepted(token)

    assert (result.outcome, result.attempts) == ("delivered", 2)
    assert sum(sleep.waits) >= 120
    assert len(accepted) == 1
    if harness.shares_clock:
        received_at = datetime.fromisoformat(accepted[0]["received_at"])
        assert received_at - first_try >= timedelta(seconds=120)


async def test_5xx_is_retried_then_delivered(
    broker: EmbeddedBroker, harness: ProviderHarness, clock: FrozenClock
) -> None:
    token = await harness.new_token()
    await harness.fault(503, 2, None)
    request = push_request(clock.now(), harness.platform, token)
    sleep = ClockSleep(clock)
    async with dispatching(broker, harness, clock, sleep) as io:
        await io.produce(topics.PUSH[harness.platform], request)
        [result] = await io.read(topics.RESULTS, until=lambda found: len(found) >= 1)
        steps = await io.read(topics.TRACE, until=lambda found: len(found) >= 3)

    assert (result.outcome, result.attempts) == ("delivered", 3)
    assert [(s.stage, s.attempt, s.outcome, s.provider_status) for s in steps] == [
        ("retry_scheduled", 1, None, None),
        ("retry_scheduled", 2, None, None),
        ("sent", 3, "delivered", result.provider_status),
    ]
    assert all(s.device_id == request.device_id and s.reason for s in steps[:2])
    waits = [s.until - s.occurred_at for s in steps[:2] if s.until is not None]
    assert len(waits) == 2
    assert min(waits) > timedelta(0)
    assert len(sleep.waits) == 2
    assert sleep.waits[1] > sleep.waits[0]
    assert len(await harness.accepted(token)) == 1


async def test_an_oversize_payload_is_refused_before_any_send_and_dead_lettered(
    broker: EmbeddedBroker, harness: ProviderHarness, clock: FrozenClock
) -> None:
    token = await harness.new_token()
    data = {f"key{i}": "x" * 1000 for i in range(5)}
    request = push_request(
        clock.now(), harness.platform, token, content={"title": "big", "data": data}
    )
    async with dispatching(broker, harness, clock, ClockSleep(clock)) as io:
        await io.produce(topics.PUSH[harness.platform], request)
        [result] = await io.read(topics.RESULTS, until=lambda found: len(found) >= 1)
        dead_letters = topics.by_name(str(topics.PUSH[harness.platform].dead_letter))
        [parked] = await io.read(dead_letters, until=lambda found: len(found) >= 1)

    assert (result.outcome, result.attempts, result.provider_status) == ("failed", 1, None)
    assert "limit" in (result.reason or "")
    assert isinstance(parked, DeadLetter)
    assert parked.reason == result.reason
    assert await harness.accepted(token) == []
