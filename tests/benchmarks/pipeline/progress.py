"""The progress line while a phase runs: a bar of deliveries against what was sent so far, the rate
of the last second and the elapsed time; one redrawn line on a terminal, a line every few seconds
in a log (CI)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from typing import TextIO

from tests.benchmarks.pipeline.tally import PhaseTally

WIDTH = 30


class Progress:
    """Writes to ``stream``; redraws in place when it is a terminal."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.interactive = stream.isatty()

    def say(self, line: str) -> None:
        self.stream.write(f"==> {line}\n")
        self.stream.flush()

    async def follow(self, tally: PhaseTally, stop: asyncio.Event) -> None:
        """Draw the tally's progress until ``stop`` is set."""
        started = time.monotonic()
        interval = 0.25 if self.interactive else 5.0
        previous = (started, 0)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
            now = time.monotonic()
            done = tally.delivered_total
            rate = (done - previous[1]) / max(now - previous[0], 1e-6)
            previous = (now, done)
            self._draw(tally.name, done, tally.expected_total, rate, now - started)
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self, name: str, done: int, expected: int, rate: float, elapsed: float) -> None:
        fraction = done / expected if expected else 0.0
        filled = int(WIDTH * min(1.0, fraction))
        bar = "#" * filled + "-" * (WIDTH - filled)
        line = (
            f"{name:<12} [{bar}] {fraction:6.1%}  {done:>9,}/{expected:<9,} deliveries  "
            f"{rate:8,.0f}/s  {elapsed:6.1f}s"
        )
        if self.interactive:
            self.stream.write(f"\r{line}")
        else:
            self.stream.write(f"{line}\n")
        self.stream.flush()
