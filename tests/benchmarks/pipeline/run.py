"""The benchmark's course on a running stack: idle memory, devices, a warm-up, then the measured
phases (max rate, fixed rate with its per-hop latency, fixed rate against a slow provider) and the
broadcast."""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from contracts.push import Platform
from services.devstack.stack import LocalStack
from tests.benchmarks.pipeline import population as devices
from tests.benchmarks.pipeline.config import TARGET_DELIVERIES_PER_SECOND, BenchConfig
from tests.benchmarks.pipeline.hop_times import TopicClock, hop_latencies
from tests.benchmarks.pipeline.issued import PushTopics
from tests.benchmarks.pipeline.phases import MB, run_phase
from tests.benchmarks.pipeline.processes import Processes, postmaster_pid
from tests.benchmarks.pipeline.progress import Progress
from tests.benchmarks.pipeline.scrape import scrape
from tests.benchmarks.pipeline.sender import (
    Sender,
    at_rate,
    audiences,
    flat_out,
)
from tests.benchmarks.pipeline.tally import Collector, PhaseTally

EMULATOR_OF: dict[Platform, str] = {
    "apns": "apns-emulator",
    "fcm": "fcm-emulator",
    "webpush": "webpush-emulator",
}
IDLE_SETTLE_SECONDS = 3.0


def stack_processes(stack: LocalStack) -> Processes:
    """Every process the stack started, by PID; PostgreSQL counts its backends too."""
    pids = {
        name: service.process.pid
        for name, service in stack.services.items()
        if service.process is not None
    }
    assert stack.broker is not None
    assert stack.postgres is not None
    for number, pid in enumerate(stack.broker.pids()):
        pids["broker" if number == 0 else f"broker-{number + 1}"] = pid
    pids["bench"] = os.getpid()
    pids["postgres"] = postmaster_pid(stack.postgres.data_dir / "pgdata")
    return Processes(pids, tree=frozenset({"postgres"}))


class Course:
    """The phases, sharing one HTTP client, one receipts collector and one population."""

    def __init__(
        self, stack: LocalStack, config: BenchConfig, http: httpx.AsyncClient, progress: Progress
    ) -> None:
        self.stack = stack
        self.config = config
        self.http = http
        self.progress = progress
        self.processes = stack_processes(stack)
        urls = {p: stack.services[name].url for p, name in EMULATOR_OF.items()}
        self.collector = Collector(http, urls)
        self.sender = Sender(http, stack.services["ingest"].url, stack.api_key)
        self.topic_clock = TopicClock(stack.kafka_settings())
        self.results: dict[str, Any] = {"phases": {}, "pids": self.processes.pids}
        progress.say(
            "PIDs: " + ", ".join(f"{name} {pid}" for name, pid in self.processes.pids.items())
        )

    async def run(self) -> dict[str, Any]:
        stop = asyncio.Event()
        poller = asyncio.create_task(self.collector.run(stop))
        try:
            await self._course()
        finally:
            stop.set()
            await poller
        return self.results

    async def _course(self) -> None:
        config = self.config
        await asyncio.sleep(IDLE_SETTLE_SECONDS)
        before = self.processes.usage()
        await asyncio.sleep(IDLE_SETTLE_SECONDS)
        idle = self.processes.usage()
        self.results["idle_rss_mb"] = {
            name: round(usage.rss_bytes / MB, 1) for name, usage in idle.items()
        }
        self.results["idle_cpu_percent"] = {
            name: round(
                (idle[name].cpu_seconds - before[name].cpu_seconds) / IDLE_SETTLE_SECONDS * 100, 1
            )
            for name in idle
        }
        self.progress.say(
            f"registering {config.users:,} users x {config.devices_per_user} devices "
            "through the registry API"
        )
        started = time.monotonic()
        webpush = self.stack.services["webpush-emulator"].url
        family = await devices.new_family(
            self.http, webpush, config.users * config.devices_per_user
        )
        population = await devices.register_via_api(
            self.http,
            self.stack.services["registry"].url,
            self.stack.api_key,
            family,
            users=config.users,
            devices_per_user=config.devices_per_user,
            tag=1,
        )
        took = time.monotonic() - started
        self.results["registration"] = {
            "devices": population.device_count,
            "seconds": round(took, 2),
            "per_second": round(population.device_count / took, 1),
        }
        await self.collector.skip_past()
        stream = audiences(population, config.users_per_send)
        per_send = config.users_per_send * config.devices_per_user

        def sending(tally: PhaseTally) -> Callable[[], Awaitable[None]]:
            async def one() -> None:
                await self.sender.send(next(stream), population, tally)

            return one

        warm_up = 3 * config.sender_in_flight
        await self._phase("warm-up", lambda t: self._flat(sending(t), warm_up))
        sends = max(1, math.ceil(config.max_rate_deliveries / per_send))
        max_rate = await self._phase("max-rate", lambda t: self._flat(sending(t), sends))
        await self._scrape("after-max-rate")
        total = max_rate["throughput"]["total"]
        capacity = total["steady"] or total["mean"] or 100.0
        rate = config.fixed_rate or min(TARGET_DELIVERIES_PER_SECOND / 2, capacity / 2)
        await self._phase(
            "fixed-rate", lambda t: self._paced(sending(t), rate, per_send), hops=True
        )
        await self._set_latency(config.slow_latency_ms / 1000)
        try:
            slow = await self._phase(
                "slow-provider", lambda t: self._paced(sending(t), rate, per_send)
            )
            slow["provider_latency_ms"] = config.slow_latency_ms
        finally:
            await self._set_latency(0.0)
        await self._broadcast(population)
        await self._scrape("at-end")

    async def _scrape(self, moment: str) -> None:
        """Keep every service's /metrics as it stood at ``moment``; sum up the dispatchers'."""
        folder = self.config.out_dir / "metrics" / moment
        self.progress.say(f"scraping every service's /metrics into {folder}")
        scraped = await scrape(self.http, self.stack, folder)
        self.results.setdefault("metrics", {})[moment] = scraped

    async def _phase(
        self,
        name: str,
        send: Callable[[PhaseTally], Awaitable[dict[str, Any]]],
        *,
        hops: bool = False,
    ) -> dict[str, Any]:
        """Run one phase; ``hops`` also times each hop from the topics' record timestamps."""
        tally = self.collector.phase(name, keep_arrivals=hops)
        self.progress.say(f"phase {name}")
        since = await self.topic_clock.mark() if hops else None
        figures = await run_phase(
            tally,
            lambda: send(tally),
            self.processes,
            timeout=self.config.drain_timeout,
            progress=self.progress,
        )
        if since is not None:
            self.progress.say(f"reading the {name} phase's records back from the topics")
            stamps = await self.topic_clock.read(since, tally.notifications.keys())
            figures["hops_ms"] = hop_latencies(tally, stamps)
        self.results["phases"][name] = figures
        return figures

    async def _flat(self, one: Callable[[], Awaitable[None]], sends: int) -> dict[str, Any]:
        await flat_out(one, sends, self.config.sender_in_flight)
        return {"mode": "max rate", "sends": sends, "in_flight": self.config.sender_in_flight}

    async def _paced(
        self, one: Callable[[], Awaitable[None]], rate: float, per_send: int
    ) -> dict[str, Any]:
        seconds = self.config.fixed_seconds
        sends_per_second = rate / per_send
        late = await at_rate(one, sends_per_second, seconds, in_flight=64)
        return {
            "mode": "fixed rate",
            "offered_deliveries_per_s": round(rate, 1),
            "seconds": seconds,
            "sends": max(1, round(sends_per_second * seconds)),
            "late_sends": late,
        }

    async def _set_latency(self, seconds: float) -> None:
        for name in EMULATOR_OF.values():
            response = await self.http.put(
                f"{self.stack.services[name].url}/emulator/latency", json={"seconds": seconds}
            )
            response.raise_for_status()

    async def _broadcast(self, population: devices.Population) -> None:
        """Seed a large audience by COPY, then send the app one notification to all its devices
        (the audience and the load population) in one request; time until every push request
        is issued and until every one is delivered."""
        config = self.config
        users = math.ceil(config.broadcast_devices / config.devices_per_user)
        count = users * config.devices_per_user
        self.progress.say(f"loading a broadcast audience of {count:,} devices by COPY")
        started = time.monotonic()
        webpush = self.stack.services["webpush-emulator"].url
        family = await devices.new_family(self.http, webpush, count)
        assert self.stack.postgres is not None
        assert self.stack.broker is not None
        audience = await devices.bulk_load(
            self.stack.postgres.dsn,
            self.stack.options.app_id,
            family,
            users=users,
            devices_per_user=config.devices_per_user,
            tag=2,
        )
        seeded = time.monotonic() - started
        expected = audience.expected(audience.users) + population.expected(population.users)
        push_topics = PushTopics(self.stack.broker.bootstrap)
        await push_topics.start()
        stop = asyncio.Event()
        issued = asyncio.create_task(push_topics.time_of(expected.total(), stop))
        began = time.time()

        async def send(tally: PhaseTally) -> dict[str, Any]:
            await self.sender.send_to_all(expected, tally)
            return {
                "mode": "broadcast",
                "requests": 1,
                "users": users + len(population.users),
                "devices": expected.total(),
                "accept_seconds": round(time.time() - began, 2),
            }

        try:
            figures = await self._phase("broadcast", send)
        finally:
            stop.set()
            issued_at = await issued
            await push_topics.stop()
        last = figures["last_arrival"]
        figures["seed_seconds"] = round(seeded, 2)
        figures["issued_seconds"] = round(issued_at - began, 2) if issued_at else None
        figures["delivered_seconds"] = round(last - began, 2) if last else None
        figures["dispatcher_growth_mb"] = {
            name: round(rss["peak"] - rss["before"], 1)
            for name, rss in figures["rss_mb"].items()
            if name.startswith("dispatcher-")
        }
