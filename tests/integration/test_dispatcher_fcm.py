"""The FCM dispatcher against the real broker and the FCM emulator, over TLS with HTTP/2."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from contracts import topics
from contracts.base import derived_id
from contracts.push import PushResult
from services.dispatcher.app import build
from services.dispatcher.settings import DispatcherSettings
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.ports import free_port
from tests.support.clock import FrozenClock
from tests.support.factories import push_request
from tests.support.fcm import RunningEmulator, fcm_emulator
from tests.support.kafka import TopicIO, kafka_settings_for_test
from tests.support.services import running

pytestmark = pytest.mark.integration


class ClockSleep:
    """Waiting between retries moves the frozen clock instead of the test waiting."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds=seconds)


@asynccontextmanager
async def dispatcher(
    broker: EmbeddedBroker, emulator: RunningEmulator, clock: FrozenClock, sleep: ClockSleep
) -> AsyncIterator[TopicIO]:
    kafka = kafka_settings_for_test(broker.bootstrap)
    settings = DispatcherSettings(
        **kafka.model_dump(),
        http_port=free_port(),
        **emulator.dispatcher_settings(),
    )
    async with running(await build(settings, clock, sleep)):
        yield TopicIO(kafka)


def by_device(results: list[Any]) -> dict[Any, PushResult]:
    return {result.device_id: result for result in results}


async def test_a_push_arrives_as_a_valid_v1_request_and_is_reported_delivered(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    clock = FrozenClock()
    request = push_request(
        clock.now(),
        "fcm",
        token="device-token:1",
        content={"title": "Order shipped", "body": "It is on its way", "data": {"order": "42"}},
        badge=7,
        badge_seq=3,
        options={"collapse_key": "orders"},
    )
    async with fcm_emulator(tmp_path) as emulator:
        async with dispatcher(broker, emulator, clock, ClockSleep(clock)) as io:
            await io.produce(topics.PUSH["fcm"], request)
            results = await io.read(topics.RESULTS, until=lambda found: len(found) >= 1)
        recorded = await emulator.recorded(token="device-token:1")

    assert len(recorded) == 1
    message = recorded[0]["message"]
    assert message["token"] == "device-token:1"
    assert message["notification"] == {"title": "Order shipped", "body": "It is on its way"}
    assert message["data"]["order"] == "42"
    assert message["data"]["herald_badge"] == "7"
    assert message["data"]["herald_badge_seq"] == "3"
    assert message["android"]["notification"]["notification_count"] == 7
    assert message["android"]["collapse_key"] == "orders"
    assert message["apns"]["payload"]["aps"]["badge"] == 7
    [result] = results
    assert isinstance(result, PushResult)
    assert result.event_id == derived_id(request.event_id, "result")
    assert (result.outcome, result.attempts, result.provider_status) == ("delivered", 1, 200)
    assert result.provider_message_id == recorded[0]["name"]
    assert (result.device_id, result.notification_id) == (
        request.device_id,
        request.notification_id,
    )


async def test_dead_and_malformed_tokens_are_reported_invalid(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    clock = FrozenClock()
    dead = push_request(clock.now(), "fcm", token="uninstalled:app")
    malformed = push_request(clock.now(), "fcm", token="not a token")
    fine = push_request(clock.now(), "fcm", token="still:here")
    async with fcm_emulator(tmp_path) as emulator:
        await emulator.control("/emulator/tokens/uninstalled:app/unregister")
        async with dispatcher(broker, emulator, clock, ClockSleep(clock)) as io:
            await io.produce(topics.PUSH["fcm"], dead, malformed, fine)
            results = by_device(await io.read(topics.RESULTS, until=lambda found: len(found) >= 3))
        recorded = await emulator.recorded()

    assert results[dead.device_id].outcome == "token_invalid"
    assert results[dead.device_id].provider_status == 404
    assert "UNREGISTERED" in (results[dead.device_id].reason or "")
    assert results[malformed.device_id].outcome == "token_invalid"
    assert results[malformed.device_id].provider_status == 400
    assert results[fine.device_id].outcome == "delivered"
    assert [m["message"]["token"] for m in recorded] == ["still:here"]


async def test_an_outage_is_retried_after_the_retry_after_wait(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    clock = FrozenClock()
    sleep = ClockSleep(clock)
    request = push_request(clock.now(), "fcm", token="patient:device")
    async with fcm_emulator(tmp_path) as emulator:
        await emulator.control("/emulator/faults", {"status": 503, "count": 1, "retry_after": 9})
        async with dispatcher(broker, emulator, clock, sleep) as io:
            await io.produce(topics.PUSH["fcm"], request)
            [result] = await io.read(topics.RESULTS, until=lambda found: len(found) >= 1)
        recorded = await emulator.recorded(token="patient:device")

    assert (result.outcome, result.attempts) == ("delivered", 2)
    assert sleep.waits == [9.0]
    assert len(recorded) == 1


async def test_a_push_past_its_ttl_is_expired_without_being_sent(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    clock = FrozenClock()
    request = push_request(clock.now(), "fcm", token="late:device", options={"ttl_seconds": 30})
    clock.advance(seconds=31)
    async with fcm_emulator(tmp_path) as emulator:
        async with dispatcher(broker, emulator, clock, ClockSleep(clock)) as io:
            await io.produce(topics.PUSH["fcm"], request)
            [result] = await io.read(topics.RESULTS, until=lambda found: len(found) >= 1)
        recorded = await emulator.recorded()

    assert result.outcome == "expired"
    assert recorded == []
