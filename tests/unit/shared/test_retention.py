"""The retention loop: what it asks to forget is counted from the injected clock, a batch at a
time until a batch comes back short."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from shared.retention import Pruner
from tests.support.clock import FrozenClock

pytestmark = pytest.mark.unit


class Ledger:
    """Rows by time; prune deletes up to ``limit`` of those older than ``before``."""

    def __init__(self, times: list[datetime]) -> None:
        self.rows = sorted(times)
        self.calls: list[tuple[datetime, int]] = []

    async def prune(self, before: datetime, limit: int) -> int:
        self.calls.append((before, limit))
        old = [row for row in self.rows if row < before][:limit]
        self.rows = [row for row in self.rows if row not in old]
        return len(old)


async def test_rows_older_than_the_retention_go_in_batches() -> None:
    clock = FrozenClock()
    start = clock.now()
    ledger = Ledger([start + timedelta(minutes=i) for i in range(25)])
    clock.advance(days=30, minutes=20)

    gone = await Pruner("rows", ledger.prune, clock, timedelta(days=30), batch=10).prune_once()

    assert gone == 20
    assert ledger.rows == [start + timedelta(minutes=i) for i in range(20, 25)]
    assert [before for before, _ in ledger.calls] == [start + timedelta(minutes=20)] * 3


async def test_the_loop_stops_when_told() -> None:
    clock = FrozenClock()
    ledger = Ledger([])
    stopping = asyncio.Event()
    pruner = Pruner("rows", ledger.prune, clock, timedelta(days=1))

    task = asyncio.create_task(pruner.run(stopping))
    await asyncio.sleep(0)
    stopping.set()
    await asyncio.wait_for(task, 1)

    assert ledger.calls == [(clock.now() - timedelta(days=1), 10_000)]
