"""Sending notifications through ingest's HTTP API, as a product backend does: at a fixed rate, as
fast as a bounded number of requests in flight allows, or as one broadcast to every device.

Every accepted notification is handed to the tally with what it should produce (its devices per
platform) and the time ingest accepted it, so each delivery is accounted for.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import datetime

import httpx

from contracts.push import Platform
from tests.benchmarks.pipeline.client import post
from tests.benchmarks.pipeline.population import Population
from tests.benchmarks.pipeline.tally import PhaseTally


class Sender:
    """POSTs notifications to ingest with the app's API key."""

    def __init__(self, http: httpx.AsyncClient, ingest_url: str, api_key: str) -> None:
        self.http = http
        self.url = f"{ingest_url}/v1/notifications"
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self.refused = 0

    async def send(
        self, user_ids: Sequence[str], population: Population, tally: PhaseTally
    ) -> None:
        body = {
            "idempotency_key": f"bench-{uuid.uuid4().hex}",
            "audience": {"user_ids": list(user_ids)},
            "content": {"title": "Benchmark", "body": f"{tally.name} for {len(user_ids)} users"},
        }
        response = await post(self.http, self.url, self.headers, body)
        self._expect(response, tally, population.expected(user_ids))

    async def send_to_all(self, expected: Counter[Platform], tally: PhaseTally) -> None:
        """One notification to every active device of the app (``expected`` of each platform),
        which the registry streams: one request, whatever the audience's size."""
        body = {
            "idempotency_key": f"bench-{uuid.uuid4().hex}",
            "audience": {"all": True},
            "content": {"title": "Benchmark", "body": f"{tally.name} to every device"},
        }
        response = await post(self.http, self.url, self.headers, body)
        self._expect(response, tally, expected)

    def _expect(
        self, response: httpx.Response, tally: PhaseTally, devices: Counter[Platform]
    ) -> None:
        if response.status_code != 202:
            self.refused += 1
            raise RuntimeError(f"ingest refused a send: {response.status_code} {response.text}")
        answer = response.json()
        accepted_at = datetime.fromisoformat(answer["accepted_at"]).timestamp()
        tally.expect(answer["notification_id"], accepted_at, devices)


def audiences(population: Population, per_send: int) -> Iterator[list[str]]:
    """Endless groups of ``per_send`` users, round-robin over the population."""
    users = itertools.cycle(population.users)
    while True:
        yield [next(users) for _ in range(per_send)]


async def at_rate(
    send: Callable[[], Awaitable[None]],
    sends_per_second: float,
    seconds: float,
    in_flight: int,
) -> int:
    """Start ``sends_per_second`` sends for ``seconds``, never more than ``in_flight`` open.

    Returns how many sends started late because ``in_flight`` were still open (the sender, not
    the offered rate, was then the limit).
    """
    loop = asyncio.get_running_loop()
    total = max(1, round(sends_per_second * seconds))
    slots = asyncio.Semaphore(in_flight)
    late = 0
    start = loop.time()

    async def one() -> None:
        try:
            await send()
        finally:
            slots.release()

    async with asyncio.TaskGroup() as group:
        for i in range(total):
            delay = start + i / sends_per_second - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if slots.locked():
                late += 1
            await slots.acquire()
            group.create_task(one())
    return late


async def flat_out(send: Callable[[], Awaitable[None]], sends: int, in_flight: int) -> None:
    """``sends`` sends, ``in_flight`` workers each sending as soon as its last one was accepted."""
    remaining = iter(range(sends))

    async def worker() -> None:
        for _ in remaining:
            await send()

    async with asyncio.TaskGroup() as group:
        for _ in range(min(in_flight, sends)):
            group.create_task(worker())
