"""Throttling and trouble at every provider at once: 429 with Retry-After on every request for
15 s, and 503 on 30 % of requests for a while. Both mean "later", never "never": with weeks of TTL
left, every push must still arrive.
"""

from __future__ import annotations

import asyncio
from typing import Any

from contracts.push import PLATFORMS
from tests.chaos.harness import RATE, WARM_UP, Chaos

THROTTLED_SECONDS = 15.0
RETRY_AFTER = "2"
UNAVAILABLE_SHARE = 0.3


async def _storm(chaos: Chaos, fault: dict[str, Any], storm: float) -> None:
    seconds = WARM_UP + storm + 5.0
    load = chaos.load(RATE, seconds)
    await asyncio.sleep(WARM_UP)
    for platform in PLATFORMS:
        await chaos.emulator(platform, "/emulator/faults", fault)
    chaos.step(f"every provider plays {fault} for {storm:g} s")
    await asyncio.sleep(storm)
    await chaos.settle(load, seconds)


async def throttled(chaos: Chaos) -> None:
    fault = {"status": 429, "seconds": THROTTLED_SECONDS, "retry_after": RETRY_AFTER}
    await _storm(chaos, fault, THROTTLED_SECONDS)


async def unavailable(chaos: Chaos) -> None:
    storm = chaos.scale.pick(30.0, 15.0)
    await _storm(chaos, {"status": 503, "seconds": storm, "ratio": UNAVAILABLE_SHARE}, storm)
