"""Readiness that tells the truth: each dependency probed in the background, the last answers kept.

``/readyz`` only reads what the loop last saw, so a flood of probes never reaches the broker or
the database, and an unreachable dependency turns a service unready within one interval + timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import asyncpg
from faststream.kafka import KafkaBroker
from pydantic import Field

from shared.clock import Clock
from shared.settings import HeraldSettings

log = logging.getLogger(__name__)

NOT_CHECKED = "not checked yet"


class ReadinessSettings(HeraldSettings):
    """How often dependencies are probed and how long one probe may take."""

    readiness_interval_ms: int = Field(
        default=1_000, ge=50, le=60_000, description="Pause between two rounds of probes."
    )
    readiness_timeout_ms: int = Field(
        default=1_000,
        ge=50,
        le=60_000,
        description="A dependency that does not answer a probe within this is reported down.",
    )

    @property
    def interval(self) -> float:
        return self.readiness_interval_ms / 1000

    @property
    def timeout(self) -> float:
        return self.readiness_timeout_ms / 1000


class Probe(Protocol):
    """One dependency: ``check`` returns when it answered and raises when it did not."""

    @property
    def name(self) -> str: ...

    async def check(self) -> None: ...


class BrokerProbe:
    """A metadata request to the cluster through the service's own broker connection."""

    name = "broker"

    def __init__(self, broker: KafkaBroker, timeout: float) -> None:
        self._broker = broker
        self._timeout = timeout

    async def check(self) -> None:
        # ping retries other known brokers until its timeout, so one dead node of a cluster does
        # not make the whole service unready.
        if not await self._broker.ping(self._timeout):
            raise TimeoutError


class DatabaseProbe:
    """``SELECT 1`` on a connection of the service's pool: what its requests would get."""

    name = "database"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def check(self) -> None:
        async with self._pool.acquire() as conn:
            await conn.fetchval("SELECT 1")


@dataclass(frozen=True)
class Health:
    """What the last probe of one dependency found, and since when that has been so."""

    up: bool
    since: datetime
    checked_at: datetime | None = None
    reason: str | None = None


def observe(previous: Health, failure: str | None, now: datetime) -> Health:
    """The state after a probe: ``since`` moves only when up/down changes (or on the first one)."""
    up = failure is None
    if previous.checked_at is not None and previous.up == up:
        return replace(previous, checked_at=now, reason=failure)
    return Health(up=up, since=now, checked_at=now, reason=failure)


def describe(error: BaseException, timeout: float) -> str:
    """A short reason for a failed probe, for the /readyz body and the log."""
    if isinstance(error, TimeoutError):
        return f"no answer within {timeout:g} s"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def answer(
    serving: bool, states: Mapping[str, Health], now: datetime, max_age: timedelta
) -> tuple[int, dict[str, Any]]:
    """The /readyz status and body. A dependency not checked within ``max_age`` counts as down:
    a stuck probe loop must not keep reporting an old "up"."""
    dependencies: dict[str, dict[str, Any]] = {}
    down: list[str] = []
    for name, health in states.items():
        stale = health.checked_at is not None and now - health.checked_at > max_age
        up = health.up and not stale
        entry: dict[str, Any] = {"up": up, "since": health.since.isoformat()}
        if health.checked_at is not None:
            entry["checked_at"] = health.checked_at.isoformat()
        reason = f"not checked for {max_age.total_seconds():g} s" if stale else health.reason
        if reason is not None:
            entry["reason"] = reason
        if not up:
            down.append(name)
        dependencies[name] = entry
    ready = serving and not down
    body = {"ready": ready, "serving": serving, "down": down, "dependencies": dependencies}
    return (200 if ready else 503), body


class Readiness:
    """The probes of one service and what each last found."""

    def __init__(self, probes: Sequence[Probe], clock: Clock, settings: ReadinessSettings) -> None:
        self._probes = list(probes)
        self._clock = clock
        self._settings = settings
        started = clock.now()
        self._states = {p.name: Health(up=False, since=started, reason=NOT_CHECKED) for p in probes}

    @property
    def states(self) -> Mapping[str, Health]:
        return dict(self._states)

    def answer(self, serving: bool) -> tuple[int, dict[str, Any]]:
        """The /readyz answer from the cached states."""
        age = 3 * (self._settings.interval + self._settings.timeout)
        return answer(serving, self._states, self._clock.now(), timedelta(seconds=age))

    async def check_once(self) -> None:
        """Probe every dependency at once, each bounded by the timeout, and record the results."""
        failures = await asyncio.gather(*(self._probe(p) for p in self._probes))
        now = self._clock.now()
        for probe, failure in zip(self._probes, failures, strict=True):
            self._record(probe.name, failure, now)

    async def run(self, stopping: asyncio.Event) -> None:
        """Probe every interval until ``stopping`` is set."""
        while not stopping.is_set():
            await self.check_once()
            try:
                await asyncio.wait_for(stopping.wait(), self._settings.interval)
            except TimeoutError:
                continue

    async def _probe(self, probe: Probe) -> str | None:
        timeout = self._settings.timeout
        try:
            async with asyncio.timeout(timeout):
                await probe.check()
        # Any failure of a probe is the answer it exists to give: the dependency is down, and
        # why. It is recorded, served on /readyz and logged when the state changes.
        except Exception as error:
            return describe(error, timeout)
        return None

    def _record(self, name: str, failure: str | None, now: datetime) -> None:
        previous = self._states[name]
        current = observe(previous, failure, now)
        self._states[name] = current
        if previous.checked_at is not None and previous.up == current.up:
            return
        if failure is not None:
            log.warning("readiness: %s is down (%s)", name, failure)
        elif previous.checked_at is not None:
            log.info("readiness: %s is back after %s", name, now - previous.since)
