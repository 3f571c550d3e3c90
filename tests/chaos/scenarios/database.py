"""PostgreSQL stopped mid-run (a fast shutdown, as a restart or failover does) and started again
on the same socket: the services wait it out, ingest answers 503 with Retry-After meanwhile (the
sender tries again with the same idempotency key), and nothing is lost.
"""

from __future__ import annotations

import asyncio

from tests.chaos.harness import RATE, WARM_UP, Chaos

#: Sends started just before the stop, so some are inside a transaction when it comes.
IN_FLIGHT_AT_HALT = 64
BURST_LEAD_SECONDS = 0.05


async def restarted(chaos: Chaos) -> None:
    postgres = chaos.stack.postgres
    if postgres is None:
        raise RuntimeError("the stack runs no PostgreSQL of its own")
    down = chaos.scale.pick(15.0, 8.0)
    seconds = WARM_UP + down + 10.0
    load = chaos.load(RATE, seconds)
    await asyncio.sleep(WARM_UP)
    burst = asyncio.create_task(chaos.run.send(IN_FLIGHT_AT_HALT))
    await asyncio.sleep(BURST_LEAD_SECONDS)
    await asyncio.to_thread(postgres.halt)
    chaos.step("PostgreSQL stopped with sends in flight")
    await asyncio.sleep(down)
    await asyncio.to_thread(postgres.resume)
    chaos.step("PostgreSQL started again")
    await burst
    chaos.note(f"PostgreSQL down for {down:g} s")
    await chaos.settle(load, seconds)
