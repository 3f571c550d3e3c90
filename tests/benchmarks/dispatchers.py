"""Each dispatcher alone: ``python -m tests.benchmarks.dispatchers [--pushes N] [--platforms ...]``.

``make bench`` measures the whole pipeline, where every process shares two cores with the others;
this isolates the last step. It starts the stack (as ``make run`` does), then, one platform at a
time while everything else is idle, puts N push requests straight onto ``push.<platform>`` and
waits until the platform's emulator has answered all N. It reports the dispatcher's and the
emulator's CPU per push (user + system time from /proc) and the pushes per second. A push the
emulator did not accept makes the run fail: a fast but lossy dispatcher must not look good.

To see where a dispatcher's time goes, run ``py-spy record -p <pid>`` on the PID it prints.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from contracts import topics
from contracts.content import Content, DeliveryOptions
from contracts.push import PLATFORMS, Platform, PushRequest
from services.devstack.stack import LocalStack, StackOptions
from shared.kafka import create_bus
from tests.benchmarks.pipeline.population import Family, new_family, token_for
from tests.benchmarks.pipeline.processes import Processes

PUBLISH_CHUNK = 2000
POLL_SECONDS = 0.2
TOKEN_TAG = 7
ACCEPTED = {"apns": "200", "fcm": "200", "webpush": "201"}


@dataclass(frozen=True)
class Figures:
    platform: Platform
    pushes: int
    seconds: float
    dispatcher_cpu: float
    emulator_cpu: float
    statuses: dict[str, int]

    def line(self) -> str:
        per = 1e6 / self.pushes
        return (
            f"{self.platform:8s} {self.pushes:>7,} pushes in {self.seconds:5.1f} s "
            f"= {self.pushes / self.seconds:>6,.0f}/s   dispatcher CPU "
            f"{self.dispatcher_cpu * per:6.1f} us/push   emulator CPU "
            f"{self.emulator_cpu * per:6.1f} us/push   replies {self.statuses}"
        )


def requests(platform: Platform, count: int, family: Family) -> list[PushRequest]:
    """``count`` ordinary visible pushes of the demo app, each to its own device."""
    now = datetime.now(UTC)
    content = Content(title="Your order has shipped", body="Order #1234 is on its way.")
    return [
        PushRequest(
            event_id=uuid.uuid4(),
            app_id="demo",
            occurred_at=now,
            notification_id=uuid.uuid4(),
            user_id=f"user-{n}",
            device_id=uuid.uuid4(),
            platform=platform,
            token=token_for(platform, TOKEN_TAG, n, family),
            content=content,
            options=DeliveryOptions(),
            badge=1,
            badge_seq=1,
            accepted_at=now,
        )
        for n in range(count)
    ]


async def answered(http: httpx.AsyncClient, emulator_url: str) -> tuple[int, dict[str, int]]:
    """How many provider requests the emulator has answered so far, and with which statuses."""
    response = await http.get(f"{emulator_url}/emulator/receipts", params={"limit": 0})
    response.raise_for_status()
    body = response.json()
    return int(body["total"]), {k: int(v) for k, v in body["statuses"].items()}


async def measure(
    stack: LocalStack, platforms: list[Platform], pushes: int, timeout: float
) -> list[Figures]:
    if stack.broker is None:
        raise RuntimeError("the stack is not running")
    processes = Processes(
        {
            name: service.process.pid
            for name, service in stack.services.items()
            if service.process is not None
        }
    )
    bus = create_bus(stack.kafka_settings(), client_id="bench")
    await bus.broker.start()
    results = []
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            family = await new_family(http, stack.services["webpush-emulator"].url, pushes)
            for platform in platforms:
                emulator = f"{platform}-emulator"
                url = stack.services[emulator].url
                batch = requests(platform, pushes, family)
                before, statuses_before = await answered(http, url)
                start_usage = processes.usage()
                started = time.monotonic()
                for i in range(0, pushes, PUBLISH_CHUNK):
                    chunk = batch[i : i + PUBLISH_CHUNK]
                    await bus.publish_all((topics.PUSH[platform], r) for r in chunk)
                total, statuses = before, statuses_before
                while total - before < pushes and time.monotonic() - started < timeout:
                    await asyncio.sleep(POLL_SECONDS)
                    total, statuses = await answered(http, url)
                seconds = time.monotonic() - started
                end_usage = processes.usage()
                dispatcher = f"dispatcher-{platform}"
                results.append(
                    Figures(
                        platform=platform,
                        pushes=total - before,
                        seconds=seconds,
                        dispatcher_cpu=end_usage[dispatcher].cpu_seconds
                        - start_usage[dispatcher].cpu_seconds,
                        emulator_cpu=end_usage[emulator].cpu_seconds
                        - start_usage[emulator].cpu_seconds,
                        statuses={
                            k: v - statuses_before.get(k, 0)
                            for k, v in statuses.items()
                            if v != statuses_before.get(k, 0)
                        },
                    )
                )
                print(results[-1].line(), flush=True)
    finally:
        await bus.broker.stop()
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.dispatchers")
    parser.add_argument("--pushes", type=int, default=20_000, help="pushes per platform")
    parser.add_argument("--platforms", nargs="+", choices=PLATFORMS, default=list(PLATFORMS))
    parser.add_argument("--timeout", type=float, default=300.0, help="longest wait per platform")
    args = parser.parse_args(argv)
    stack = LocalStack(StackOptions(prefer_default_ports=False, log_level="WARNING"))
    stack.start(progress=lambda line: print(f"==> {line}", flush=True))
    pids = ", ".join(
        f"{name} {service.process.pid}"
        for name, service in stack.services.items()
        if service.process is not None and name.startswith("dispatcher")
    )
    print(f"==> PIDs: {pids}", flush=True)
    try:
        figures = asyncio.run(measure(stack, args.platforms, args.pushes, args.timeout))
    finally:
        stack.stop()
    lost = [
        f for f in figures if f.pushes < args.pushes or set(f.statuses) != {ACCEPTED[f.platform]}
    ]
    for f in lost:
        print(f"NOT TRUSTWORTHY: {f.platform}: {f.pushes} of {args.pushes} answered, {f.statuses}")
    return 1 if lost else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
