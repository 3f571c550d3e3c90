"""What every scenario shares, built on tests/support/fault_run: users with one device on each
platform, notifications sent at a steady rate while the scenario plays its fault, the services and
emulators to act on, and the count of what reached the providers once the run settles.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from contracts.push import PLATFORMS, Platform
from services.devstack.stack import LocalStack
from tests.chaos.dead_letters import parked
from tests.chaos.result import Result
from tests.support.fault_run import FaultRun, Outcome

T = TypeVar("T")

#: Users of a run, each with one device per platform: every notification owes three deliveries.
USERS = 60
#: Notifications a second while a fault plays (three deliveries each), well below what the stack
#: does on two busy cores, so a slowdown shows as a fault's effect rather than as saturation.
RATE = 20
#: Seconds of normal flow before a fault, so it meets a running pipeline.
WARM_UP = 5.0
#: Longest wait, after the load ended, for the deliveries still owed.
SETTLE_SECONDS = 150.0
#: Longest wait for a restarted service to answer /readyz.
READY_SECONDS = 90.0
#: Longest the sending may overrun its planned duration (a fault slows ingest down).
SEND_OVERRUN_SECONDS = 120.0


@dataclass(frozen=True)
class Scale:
    """The full suite, or the short form CI runs: a scenario picks its sizes with ``pick``."""

    short: bool

    def pick(self, full: T, short: T) -> T:
        return short if self.short else full


@dataclass
class IngestAnswers:
    """Every answer ingest's send API gave, by status (an httpx response hook)."""

    statuses: Counter[int] = field(default_factory=Counter)
    unavailable_without_retry_after: int = 0

    async def __call__(self, response: httpx.Response) -> None:
        request = response.request
        if request.method == "POST" and request.url.path == "/v1/notifications":
            self.statuses[response.status_code] += 1
            if response.status_code == 503 and "retry-after" not in response.headers:
                self.unavailable_without_retry_after += 1


@dataclass
class Chaos:
    """One scenario's run on its own stack; ``problems`` fail it, ``notes`` explain it."""

    stack: LocalStack
    http: httpx.AsyncClient
    run: FaultRun
    answers: IngestAnswers
    scale: Scale
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    outcome: Outcome | None = None
    #: Notifications whose delivery is right either way (read before they came due: withheld).
    optional: set[str] = field(default_factory=set)
    started: float = field(default_factory=time.monotonic)

    def step(self, text: str) -> None:
        """Say how far the scenario got, with the seconds since it began (its stack's start)."""
        print(f"  [{time.monotonic() - self.started:5.0f} s] {text}", flush=True)

    def load(self, rate: int, seconds: float) -> asyncio.Task[None]:
        """Start sending ``rate`` notifications a second for ``seconds``, in the background."""
        return asyncio.create_task(self._steadily(rate, seconds))

    async def _steadily(self, rate: int, seconds: float) -> None:
        """Each second's notifications go as fast as ingest takes them; a second that overruns
        is followed at once by the next, so a slow ingest lowers the rate, not the count."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        for second in range(max(1, round(seconds))):
            await self.run.send(rate)
            await asyncio.sleep(max(0.0, start + second + 1 - loop.time()))

    async def kill(self, name: str) -> None:
        """SIGKILL one of the stack's processes."""
        await asyncio.to_thread(self.stack.services[name].kill)

    async def restart(self, name: str) -> None:
        """Start a killed process again and wait until it is ready."""
        service = self.stack.services[name]
        await asyncio.to_thread(service.start)
        await asyncio.to_thread(service.wait_ready, time.monotonic() + READY_SECONDS)

    async def emulator(self, platform: Platform, path: str, body: Any = None) -> httpx.Response:
        """A control call to ``platform``'s emulator (its plain-HTTP port)."""
        url = f"{self.stack.services[f'{platform}-emulator'].url}{path}"
        response = await self.http.request(
            "PUT" if path == "/emulator/latency" else "POST", url, json=body
        )
        response.raise_for_status()
        return response

    async def badges(self, users: list[str]) -> dict[str, int]:
        """Each of ``users``' badge as badge-count answers the app now."""
        found = {}
        for user in users:
            response = await self.http.get(
                f"{self.stack.services['badge-count'].url}/v1/users/{user}/badge",
                headers={"Authorization": f"Bearer {self.stack.api_key}"},
            )
            response.raise_for_status()
            found[user] = int(response.json()["badge"])
        return found

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def note(self, text: str) -> None:
        self.notes.append(text)

    async def settle(
        self, load: Awaitable[None], planned_seconds: float, *, settle: float = SETTLE_SECONDS
    ) -> Outcome:
        """Wait for the load to end, then for every owed delivery (bounded); the outcome."""
        sending = asyncio.ensure_future(load)
        done, _ = await asyncio.wait([sending], timeout=planned_seconds + SEND_OVERRUN_SECONDS)
        if not done:
            sending.cancel()
            self.problem(f"ingest took only {len(self.run.sent):,} notifications in time")
        elif sending.exception() is not None:
            self.problem(f"sending failed: {sending.exception()}")
        self.step(f"{len(self.run.sent):,} notifications accepted; waiting for their deliveries")
        self.outcome = await self.run.settle(settle)
        self.step(f"settled: {self.outcome.missing.total():,} deliveries missing")
        return self.outcome

    def arrivals(self, platform: Platform, start: float, end: float) -> int:
        """Deliveries to ``platform`` that arrived between two Unix times (read after settle)."""
        return sum(
            1
            for receipts in self.run.collector.orphans.values()
            for receipt_platform, at, status in receipts
            if receipt_platform == platform and status < 300 and start <= at < end
        )

    async def checked(self) -> None:
        """The expectations every scenario shares: nothing foreign delivered, every process
        still running, ingest never answering 500 or an unexplained 503."""
        outcome = self.outcome
        if outcome is None:
            raise RuntimeError("settle() first")
        foreign = [d for d in outcome.foreign if d[1] not in self.optional]
        if foreign:
            self.problem(f"{len(foreign):,} deliveries of notifications nobody sent")
        lost = Counter(platform for platform, _ in outcome.missing.elements())
        if lost:
            self.note("lost by platform: " + ", ".join(f"{p} {n:,}" for p, n in lost.items()))
        repeated = Counter(
            platform
            for (platform, notification_id), n in outcome.received.items()
            if (platform, notification_id) in outcome.owed
            for _ in range(n - outcome.owed[(platform, notification_id)])
        )
        if repeated:
            self.note(
                "duplicates by platform (same notification id): "
                + ", ".join(f"{p} {n:,}" for p, n in sorted(repeated.items()))
            )
        dead = [
            name
            for name, p in self.stack.services.items()
            if p.process is None or p.process.poll() is not None
        ]
        if dead:
            self.problem("not running at the end: " + ", ".join(dead))
        errors = {
            status: n
            for status, n in self.answers.statuses.items()
            if status >= 500 and status != 503
        }
        if errors:
            self.problem(
                "ingest answered "
                + ", ".join(f"{status} to {n:,} sends" for status, n in sorted(errors.items()))
                + " (an outage is 503 with Retry-After)"
            )
        if self.answers.unavailable_without_retry_after:
            self.problem(
                f"{self.answers.unavailable_without_retry_after:,} answers 503 without Retry-After"
            )
        if self.answers.statuses[503]:
            self.note(f"ingest answered 503 with Retry-After {self.answers.statuses[503]:,} times")
        refused = {
            f"{platform} {status}": count
            for platform, statuses in self.run.collector.statuses.items()
            for status, count in statuses.items()
            if int(status) >= 300
        }
        if refused:
            self.note(
                "provider refusals: " + ", ".join(f"{what} x{n:,}" for what, n in refused.items())
            )
        given_up = await parked(self.stack.kafka_settings())
        if given_up:
            self.note(
                "parked: " + ", ".join(f"{topic} {n:,}" for topic, n in sorted(given_up.items()))
            )

    def result(self, scenario: str, seconds: float) -> Result:
        """The scenario's row of the table (after ``settle`` and ``checked``)."""
        outcome = self.outcome
        if outcome is None:
            raise RuntimeError("settle() first")
        owed, lost = outcome.owed.total(), outcome.missing.total()
        return Result(
            scenario,
            sent=len(self.run.sent),
            owed=owed,
            delivered=owed - lost,
            lost=lost,
            duplicates=sum(
                outcome.received[delivery] - owed
                for delivery, owed in outcome.owed.items()
                if outcome.received[delivery] > owed
            ),
            seconds=seconds,
            problems=tuple(self.problems),
            notes=tuple(self.notes),
        )


@asynccontextmanager
async def chaos_on(
    stack: LocalStack, scale: Scale, started: float, users: int = USERS
) -> AsyncIterator[Chaos]:
    """A scenario's run on ``stack`` (started at monotonic ``started``): its users registered,
    its HTTP client open."""
    answers = IngestAnswers()
    async with httpx.AsyncClient(timeout=60, event_hooks={"response": [answers]}) as http:
        run = await FaultRun.prepare(stack, http, users, len(PLATFORMS))
        chaos = Chaos(stack, http, run, answers, scale, started=started)
        chaos.step(f"stack up, {users} users with a device on each platform")
        yield chaos
