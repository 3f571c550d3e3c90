"""GOAWAY with requests in flight: every provider closes each of its connections gracefully every
two seconds while its replies take 200 ms, so each GOAWAY meets requests being answered (which the
provider finishes) and requests still on their way (which it refuses unprocessed). The first
are answered on their connection, the second go again on another: no push arrives twice.
"""

from __future__ import annotations

import asyncio

from contracts.push import PLATFORMS
from tests.chaos.harness import RATE, WARM_UP, Chaos

#: Every emulator holds each reply this long during the scenario.
REPLY_LATENCY_SECONDS = 0.2
PERIOD_SECONDS = 2.0


async def with_requests_in_flight(chaos: Chaos) -> None:
    storm = chaos.scale.pick(30.0, 12.0)
    seconds = WARM_UP + storm + 3.0
    for platform in PLATFORMS:
        await chaos.emulator(platform, "/emulator/latency", {"seconds": REPLY_LATENCY_SECONDS})
    load = chaos.load(RATE, seconds)
    await asyncio.sleep(WARM_UP)
    closed = 0
    for _ in range(round(storm / PERIOD_SECONDS)):
        for platform in PLATFORMS:
            closed += (await chaos.emulator(platform, "/emulator/goaway")).json()["connections"]
        await asyncio.sleep(PERIOD_SECONDS)
    chaos.step(f"{closed} connections closed with GOAWAY")
    chaos.note(f"{closed} connections closed with GOAWAY")
    if not closed:
        chaos.problem("no connection was open to close: the fault never played")
    outcome = await chaos.settle(load, seconds)
    repeats = sum(
        n - outcome.owed[delivery]
        for delivery, n in outcome.received.items()
        if n > outcome.owed[delivery] and delivery in outcome.owed
    )
    if repeats:
        chaos.problem(
            f"{repeats:,} pushes reached a provider twice: requests a GOAWAY kept were answered, "
            "so none should go again"
        )
