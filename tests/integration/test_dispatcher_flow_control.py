"""A burst larger than HTTP/2's default flow-control window, through the real dispatcher path.

APNs advertises the protocol's default 65,535-byte stream window and keeps its connection window
at that size too; 300 pushes of ~4 KB sent together carry ~1.2 MB of bodies. Each request waits
for window and goes on its first attempt: none fails, none is retried.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from contracts import topics
from contracts.push import PushRequest, PushResult
from contracts.trace import NotificationTraced
from services.dispatcher.app import build
from services.dispatcher.settings import DispatcherSettings
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.ports import free_port
from shared.platforms.apns import payload
from tests.support import apns
from tests.support.clock import FrozenClock
from tests.support.factories import apns_token, push_request
from tests.support.kafka import TopicIO, kafka_settings_for_test
from tests.support.services import running

pytestmark = pytest.mark.integration

BURST = 300
DEFAULT_WINDOW = 65_535


class ClockSleep:
    """A retry's wait moves the frozen clock, so a failed attempt shows at once, not in minutes."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock

    async def __call__(self, seconds: float) -> None:
        self.clock.advance(seconds=seconds)


def large_push(now: datetime) -> PushRequest:
    """A visible push whose APNs body is just under Apple's 4 KB limit."""
    content = {"title": "Hello", "body": "b" * 2000, "data": {"a": "x" * 1000, "b": "y" * 900}}
    return push_request(now, "apns", apns_token(), content=content)


async def test_a_burst_on_an_open_connection_past_the_window_goes_on_first_attempts(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    clock = FrozenClock(datetime.now().astimezone())
    first, *burst = (large_push(clock.now()) for _ in range(BURST + 1))
    assert 3800 < payload.render(first, clock.now()).size <= 4096
    kafka = kafka_settings_for_test(broker.bootstrap)
    async with apns.apns_emulator(
        tmp_path, clock=clock, stream_window=DEFAULT_WINDOW, connection_window=DEFAULT_WINDOW
    ) as emulator:
        settings = DispatcherSettings(
            **kafka.model_dump(),
            **emulator.dispatcher_settings(),
            http_port=free_port(),
            dispatcher_max_in_flight=BURST,
        )
        async with running(await build(settings, clock, ClockSleep(clock))):
            io = TopicIO(kafka)
            await io.produce(topics.PUSH["apns"], first)
            await io.read(topics.RESULTS, until=lambda r: len(r) >= 1)
            await io.produce(topics.PUSH["apns"], *burst)
            found = await io.read(topics.RESULTS, until=lambda r: len(r) > BURST, timeout=60)
            steps = await io.read(topics.TRACE, until=lambda s: len(s) > BURST)
        accepted = await emulator.recorded()

    results = [r for r in found if isinstance(r, PushResult)]
    assert Counter((r.outcome, r.attempts) for r in results) == {("delivered", 1): BURST + 1}
    stages = Counter(s.stage for s in steps if isinstance(s, NotificationTraced))
    assert stages == {"sent": BURST + 1}
    sent = Counter(m["payload"]["herald_notification_id"] for m in accepted)
    assert sent == Counter({str(r.notification_id): 1 for r in [first, *burst]})
