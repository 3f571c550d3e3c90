"""A provider unreachable for a minute (its port refuses connections and open ones are reset)
while notifications flow: its pushes wait and arrive once it is back, and the other two
platforms keep at least 90 % of the delivery rate they had before it went down.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from contracts.push import PLATFORMS, Platform
from tests.chaos.harness import RATE, WARM_UP, Chaos

#: Seconds of normal flow before the outage: the others' rate is measured in all but the warm-up.
BEFORE_SECONDS = 20.0
AFTER_SECONDS = 5.0
#: Share of their earlier delivery rate the other platforms keep while one is down.
KEPT_SHARE = 0.9


def provider_down(platform: Platform) -> Callable[[Chaos], Awaitable[None]]:
    """The scenario for ``platform``'s provider."""

    async def play(chaos: Chaos) -> None:
        down = chaos.scale.pick(60.0, 20.0)
        seconds = BEFORE_SECONDS + down + AFTER_SECONDS
        load = chaos.load(RATE, seconds)
        await asyncio.sleep(BEFORE_SECONDS)
        start = time.time()
        await chaos.emulator(platform, "/emulator/outage", {"seconds": down})
        chaos.step(f"{platform} down for {down:g} s")
        await asyncio.sleep(down)
        end = time.time()
        chaos.step(f"{platform} back")
        await chaos.settle(load, seconds)
        baseline = BEFORE_SECONDS - WARM_UP
        for other in PLATFORMS:
            if other == platform:
                continue
            before = chaos.arrivals(other, start - baseline, start) / baseline
            during = chaos.arrivals(other, start, end) / (end - start)
            kept = during / before if before else 0.0
            text = f"{other} {during:.1f}/s while {platform} was down, {before:.1f}/s before"
            if kept < KEPT_SHARE:
                chaos.problem(f"{text}: {kept:.0%}, under {KEPT_SHARE:.0%}")
            else:
                chaos.note(f"{text} ({kept:.0%})")

    return play
