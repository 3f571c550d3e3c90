"""Readiness bookkeeping: what /readyz says after probes succeed, fail, hang or stop running."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from shared.health import NOT_CHECKED, Readiness, ReadinessSettings
from shared.http import create_http_app
from tests.support.clock import FrozenClock

pytestmark = pytest.mark.unit

FAST = ReadinessSettings(readiness_interval_ms=1_000, readiness_timeout_ms=50)


class FakeProbe:
    """A dependency the test switches between answering, refusing and never answering."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.error: Exception | None = None
        self.hangs = False
        self.calls = 0

    async def check(self) -> None:
        self.calls += 1
        if self.hangs:
            await asyncio.Event().wait()
        if self.error is not None:
            raise self.error


def readiness(*probes: FakeProbe, clock: FrozenClock) -> Readiness:
    return Readiness(probes, clock, FAST)


async def test_nothing_is_ready_before_the_first_probe() -> None:
    clock = FrozenClock()
    status, body = readiness(FakeProbe("broker"), clock=clock).answer(serving=True)

    assert status == 503
    assert body["down"] == ["broker"]
    assert body["dependencies"]["broker"]["reason"] == NOT_CHECKED


async def test_ready_when_every_probe_answers_and_the_runtime_serves() -> None:
    clock = FrozenClock()
    checks = readiness(FakeProbe("broker"), FakeProbe("database"), clock=clock)
    await checks.check_once()

    status, body = checks.answer(serving=True)
    assert status == 200
    assert body["ready"] is True
    assert body["down"] == []
    assert body["dependencies"]["database"] == {
        "up": True,
        "since": clock.now().isoformat(),
        "checked_at": clock.now().isoformat(),
    }
    assert checks.answer(serving=False)[0] == 503


async def test_a_failing_probe_names_the_dependency_the_reason_and_since_when() -> None:
    clock = FrozenClock()
    broker, database = FakeProbe("broker"), FakeProbe("database")
    checks = readiness(broker, database, clock=clock)
    await checks.check_once()
    database.error = ConnectionRefusedError(111, "Connection refused")
    went_down = clock.advance(seconds=1)
    await checks.check_once()
    clock.advance(seconds=1)
    await checks.check_once()

    status, body = checks.answer(serving=True)
    assert status == 503
    assert body["down"] == ["database"]
    entry = body["dependencies"]["database"]
    assert entry["up"] is False
    assert entry["since"] == went_down.isoformat()
    assert entry["checked_at"] == clock.now().isoformat()
    assert entry["reason"] == "ConnectionRefusedError: [Errno 111] Connection refused"
    assert body["dependencies"]["broker"]["up"] is True


async def test_a_probe_that_never_answers_is_down_after_the_timeout() -> None:
    clock = FrozenClock()
    broker = FakeProbe("broker")
    broker.hangs = True
    checks = readiness(broker, clock=clock)

    async with asyncio.timeout(5):
        await checks.check_once()

    health = checks.states["broker"]
    assert health.up is False
    assert health.reason == "no answer within 0.05 s"


async def test_recovery_is_noticed_by_the_next_probe_and_moves_since() -> None:
    clock = FrozenClock()
    broker = FakeProbe("broker")
    broker.error = OSError("unreachable")
    checks = readiness(broker, clock=clock)
    await checks.check_once()
    broker.error = None
    back = clock.advance(seconds=3)
    await checks.check_once()

    status, body = checks.answer(serving=True)
    assert status == 200
    assert body["dependencies"]["broker"] == {
        "up": True,
        "since": back.isoformat(),
        "checked_at": back.isoformat(),
    }


async def test_an_old_answer_is_not_trusted_when_the_probes_stopped_running() -> None:
    clock = FrozenClock()
    checks = readiness(FakeProbe("broker"), clock=clock)
    await checks.check_once()
    clock.advance(seconds=3 * (FAST.interval + FAST.timeout) + 0.1)

    status, body = checks.answer(serving=True)
    assert status == 503
    assert body["dependencies"]["broker"]["reason"] == "not checked for 3.15 s"


class StopsAfterOneCheck(FakeProbe):
    """Answers once, then asks the loop to stop, as the runtime does at shutdown."""

    def __init__(self, stopping: asyncio.Event) -> None:
        super().__init__("broker")
        self.stopping = stopping

    async def check(self) -> None:
        await super().check()
        self.stopping.set()


async def test_the_loop_probes_and_returns_once_stopping_is_set() -> None:
    stopping = asyncio.Event()
    broker = StopsAfterOneCheck(stopping)
    checks = readiness(broker, clock=FrozenClock())

    async with asyncio.timeout(5):
        await checks.run(stopping)

    assert broker.calls == 1
    assert checks.states["broker"].up is True


async def test_readyz_serves_the_cached_answer_without_probing_and_healthz_stays_200() -> None:
    clock = FrozenClock()
    broker = FakeProbe("broker")
    broker.error = OSError("gone")
    checks = readiness(broker, clock=clock)
    await checks.check_once()
    app = create_http_app(title="t", description="t")
    app.state.ready = True
    app.state.readiness = checks
    transport = httpx.ASGITransport(app=app)

    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        answers = [await http.get("/readyz") for _ in range(20)]
        live = await http.get("/healthz")

    assert {r.status_code for r in answers} == {503}
    assert answers[0].json()["down"] == ["broker"]
    assert broker.calls == 1
    assert live.status_code == 200
