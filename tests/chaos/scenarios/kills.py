"""Crashes: every service SIGKILLed in turn while notifications flow, and the three dispatchers
(APNs included) killed together every 15 seconds. Each is started again at once, as an
orchestrator would; nothing may be lost, and a repeat must be the same notification again.
"""

from __future__ import annotations

import asyncio

from contracts.push import PLATFORMS
from tests.chaos.harness import RATE, WARM_UP, Chaos

SERVICES = (
    "ingest",
    "registry",
    "scheduler",
    "badge-count",
    "dispatcher-fcm",
    "dispatcher-apns",
    "dispatcher-webpush",
)
DISPATCHERS = tuple(f"dispatcher-{platform}" for platform in PLATFORMS)
DISPATCHER_PERIOD_SECONDS = 15.0


async def each_service_in_turn(chaos: Chaos) -> None:
    """One service killed every ``gap`` seconds and started again at once; the short form does
    not wait for one to be ready before killing the next."""
    gap = chaos.scale.pick(8.0, 2.0)
    seconds = WARM_UP + gap * (len(SERVICES) + 1)
    load = chaos.load(RATE, seconds)
    await asyncio.sleep(WARM_UP)
    restarts = []
    for name in SERVICES:
        await chaos.kill(name)
        restarts.append(asyncio.create_task(chaos.restart(name)))
        if not chaos.scale.short:
            await restarts[-1]
        await asyncio.sleep(gap)
    await asyncio.gather(*restarts)
    chaos.step("every service killed and restarted")
    await chaos.settle(load, seconds)


async def dispatchers_every_15s(chaos: Chaos) -> None:
    rounds = chaos.scale.pick(4, 2)
    seconds = DISPATCHER_PERIOD_SECONDS * (rounds + 1)
    load = chaos.load(RATE, seconds)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for n in range(1, rounds + 1):
        await asyncio.sleep(max(0.0, start + n * DISPATCHER_PERIOD_SECONDS - loop.time()))
        await asyncio.gather(*(chaos.kill(name) for name in DISPATCHERS))
        await asyncio.gather(*(chaos.restart(name) for name in DISPATCHERS))
        chaos.step(f"dispatchers killed and restarted ({n} of {rounds})")
    chaos.note(
        f"the three dispatchers killed {rounds} times, {DISPATCHER_PERIOD_SECONDS:g} s apart"
    )
    await chaos.settle(load, seconds)
