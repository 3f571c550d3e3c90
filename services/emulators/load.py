"""Load-test support every emulator shares: a reply latency each send waits (a slow provider) and
receipts (each request's arrival time, notification id and status) that a benchmark reads by cursor.

``PUT /emulator/latency {"seconds": 0.05}`` sets the latency. ``GET /emulator/receipts?since=N``
returns the receipts numbered N and later and forgets those before N, which the reader already has;
counts by status stay exact even when receipts nobody reads overflow the bounded log.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter, deque
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import Field

from shared.http import ApiError
from shared.settings import HeraldSettings

MAX_LATENCY_SECONDS = 60.0
MAX_RECEIPTS_PER_READ = 100_000


class LoadSettings(HeraldSettings):
    """The same two settings for every emulator (each runs in its own process)."""

    emulator_latency_ms: float = Field(
        default=0.0, ge=0, le=MAX_LATENCY_SECONDS * 1000, description="Wait before each reply."
    )
    emulator_receipts: int = Field(
        default=100_000, ge=1, description="Receipts kept until a reader takes them."
    )

    def load_report(self) -> LoadReport:
        return LoadReport(self.emulator_receipts, self.emulator_latency_ms / 1000)


class LoadReport:
    """The latency to play and the receipts of one emulator."""

    def __init__(self, capacity: int, latency_seconds: float = 0.0) -> None:
        self.latency = latency_seconds
        self.statuses: Counter[int] = Counter()
        self._log: deque[tuple[float, str, int]] = deque(maxlen=capacity)
        self._total = 0

    def note(self, received_at: float, notification_id: str | None, status: int) -> None:
        """Record one request to the provider API (``received_at`` in Unix seconds)."""
        self.statuses[status] += 1
        self._log.append((received_at, notification_id or "", status))
        self._total += 1

    async def wait(self) -> None:
        """Hold the reply for the configured latency."""
        if self.latency > 0:
            await asyncio.sleep(self.latency)

    def read(self, since: int, limit: int) -> dict[str, Any]:
        """Receipts numbered ``since`` and later (at most ``limit``); earlier ones are dropped."""
        first = self._total - len(self._log)
        for _ in range(min(since, self._total) - first):
            self._log.popleft()
        first = self._total - len(self._log)
        items = [list(item) for item in itertools.islice(self._log, limit)]
        return {
            "first": first,
            "next": first + len(items),
            "total": self._total,
            "statuses": {str(status): count for status, count in self.statuses.items()},
            "items": items,
        }


def add_load_routes(app: FastAPI, report: LoadReport) -> None:
    """Mount the latency and receipts routes on an emulator's app."""

    @app.put("/emulator/latency", tags=["emulator"], status_code=204)
    async def set_latency(request: Request) -> Response:
        try:
            seconds = float(json.loads(await request.body())["seconds"])
        except (ValueError, TypeError, KeyError) as exc:
            raise ApiError(400, "invalid_latency", f'expected {{"seconds": s}}: {exc}') from None
        if not 0 <= seconds <= MAX_LATENCY_SECONDS:
            raise ApiError(
                400, "invalid_latency", f"seconds must be between 0 and {MAX_LATENCY_SECONDS:g}"
            )
        report.latency = seconds
        return Response(status_code=204)

    @app.get("/emulator/receipts", tags=["emulator"])
    async def receipts(since: int = 0, limit: int = MAX_RECEIPTS_PER_READ) -> dict[str, Any]:
        return report.read(max(0, since), max(0, min(limit, MAX_RECEIPTS_PER_READ)))
