"""Provider storms and poisoned batches through the real broker and each provider's emulator.

A storm of 429s, then 30 % of requests answered 503, lose nothing within the TTL: every push is
delivered once, none fails or expires. A batch holding a push whose encryption raises delivers
every other push exactly once. The emulators and the dispatcher share one frozen clock, which the
dispatcher's waits move, so "15 seconds of 429s" is 15 seconds of that clock.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from contracts import topics
from contracts.push import Platform, PushRequest, PushResult
from services.dispatcher.app import build
from services.dispatcher.settings import DispatcherSettings
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.ports import free_port
from tests.support import apns, fcm, webpush
from tests.support.clock import FrozenClock
from tests.support.emulator_client import EmulatorInspection
from tests.support.factories import apns_token, push_request, unique
from tests.support.kafka import TopicIO, kafka_settings_for_test
from tests.support.services import running

pytestmark = pytest.mark.integration

PUSHES = 40
TTL_SECONDS = 3600


@dataclass
class Target:
    """One provider's emulator, how to aim a dispatcher at it and how to make device tokens."""

    platform: Platform
    emulator: EmulatorInspection
    settings: dict[str, Any]
    new_token: Callable[[], Awaitable[str]]


@asynccontextmanager
async def target_for(platform: Platform, folder: Path, clock: FrozenClock) -> AsyncIterator[Target]:
    if platform == "apns":
        async with apns.apns_emulator(folder, clock=clock) as running_apns:

            async def apns_device() -> str:
                return apns_token()

            yield Target(platform, running_apns, running_apns.dispatcher_settings(), apns_device)
    elif platform == "fcm":
        async with fcm.fcm_emulator(folder, clock=clock) as running_fcm:

            async def fcm_device() -> str:
                return f"{unique('device')}:APA91b"

            yield Target(platform, running_fcm, running_fcm.dispatcher_settings(), fcm_device)
    else:
        async with webpush.webpush_emulator(folder, clock=clock) as running_webpush:
            yield Target(
                platform,
                running_webpush,
                running_webpush.dispatcher_settings(),
                running_webpush.subscribe,
            )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now().astimezone())


@pytest.fixture(params=["apns", "fcm", "webpush"])
async def target(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[Target]:
    async with target_for(request.param, tmp_path, clock) as found:
        yield found


class ClockSleep:
    """The dispatcher's waits move the frozen clock instead of taking time."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock

    async def __call__(self, seconds: float) -> None:
        self.clock.advance(seconds=seconds)


@asynccontextmanager
async def dispatching(
    broker: EmbeddedBroker, target: Target, clock: FrozenClock
) -> AsyncIterator[TopicIO]:
    kafka = kafka_settings_for_test(broker.bootstrap)
    settings = DispatcherSettings(**kafka.model_dump(), **target.settings, http_port=free_port())
    async with running(await build(settings, clock, ClockSleep(clock))):
        yield TopicIO(kafka)


async def pushes(target: Target, clock: FrozenClock, count: int) -> list[PushRequest]:
    return [
        push_request(
            clock.now(),
            target.platform,
            await target.new_token(),
            options={"ttl_seconds": TTL_SECONDS},
        )
        for _ in range(count)
    ]


def accepted_per_notification(target: Target, accepted: list[dict[str, Any]]) -> Counter[str]:
    """How often the emulator accepted each notification (by the id Herald puts in the push)."""
    found: Counter[str] = Counter()
    for message in accepted:
        if target.platform == "apns":
            found[message["payload"]["herald_notification_id"]] += 1
        elif target.platform == "fcm":
            found[message["message"]["data"]["herald_notification_id"]] += 1
        else:
            found[json.loads(message["payload"])["herald"]["herald_notification_id"]] += 1
    return found


async def test_15_seconds_of_429s_then_30_percent_503s_lose_nothing_within_the_ttl(
    broker: EmbeddedBroker, target: Target, clock: FrozenClock
) -> None:
    storm = await pushes(target, clock, PUSHES)
    flaky = await pushes(target, clock, PUSHES)
    start = clock.now()
    await target.emulator.control("/emulator/faults", {"status": 429, "seconds": 15})
    async with dispatching(broker, target, clock) as io:
        await io.produce(topics.PUSH[target.platform], *storm)
        await io.read(topics.RESULTS, until=lambda found: len(found) >= PUSHES, timeout=90)
        storm_over = clock.now()
        await target.emulator.control(
            "/emulator/faults", {"status": 503, "ratio": 0.3, "seconds": 3600}
        )
        await io.produce(topics.PUSH[target.platform], *flaky)
        found = await io.read(
            topics.RESULTS, until=lambda found: len(found) >= 2 * PUSHES, timeout=90
        )
    accepted = await target.emulator.recorded()

    results = [r for r in found if isinstance(r, PushResult)]
    outcomes = Counter(r.outcome for r in results)
    attempts = Counter(r.attempts for r in results)
    expected = {str(r.notification_id) for r in storm + flaky}
    print(
        f"{target.platform}: {len(results)} results {dict(outcomes)}, attempts {dict(attempts)}; "
        f"the 429s lasted until {storm_over - start} of the clock"
    )
    assert outcomes == {"delivered": 2 * PUSHES}
    assert storm_over - start >= timedelta(seconds=15)
    assert max(attempts) > 1
    assert all(r.occurred_at < r.accepted_at + timedelta(seconds=TTL_SECONDS) for r in results)
    assert accepted_per_notification(target, accepted) == Counter(dict.fromkeys(expected, 1))


async def test_a_batch_with_a_push_that_cannot_be_encrypted_delivers_the_others_once(
    broker: EmbeddedBroker, tmp_path: Path, clock: FrozenClock
) -> None:
    async with target_for("webpush", tmp_path, clock) as web:
        batch = await pushes(web, clock, 20)
        poisoned = batch[7].model_copy(update={"token": off_curve(batch[7].token)})
        batch[7] = poisoned
        async with dispatching(broker, web, clock) as io:
            await io.produce(topics.PUSH["webpush"], *batch)
            found = await io.read(topics.RESULTS, until=lambda found: len(found) >= len(batch))
        assert isinstance(web.emulator, webpush.RunningWebPushEmulator)
        requests = await web.emulator.requests()
        accepted = await web.emulator.recorded()

    results = {r.request_event_id: r for r in found if isinstance(r, PushResult)}
    refused = results.pop(poisoned.event_id)
    assert (refused.outcome, refused.attempts) == ("token_invalid", 1)
    assert "p256dh" in (refused.reason or "")
    assert {r.outcome for r in results.values()} == {"delivered"}
    assert len(results) == 19
    assert len(found) == 20
    assert len(requests) == len(accepted) == 19
    good = {str(r.notification_id) for r in batch if r is not poisoned}
    assert accepted_per_notification(web, accepted) == Counter(dict.fromkeys(good, 1))


def off_curve(token: str) -> str:
    """The subscription with a p256dh that has the right shape (65 bytes, 0x04 first) but is not
    a point on P-256: the contract lets it through, encryption cannot use it."""
    subscription = json.loads(token)
    bogus = base64.urlsafe_b64encode(b"\x04" + b"\x01" * 64).rstrip(b"=").decode()
    subscription["keys"]["p256dh"] = bogus
    return json.dumps(subscription, separators=(",", ":"))
