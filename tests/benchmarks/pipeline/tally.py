"""Accounting: what each phase's notifications should produce, what reached the providers, when.

The emulators' receipts (arrival time, notification id, status) are read by cursor and matched to
the notification that caused them; latency is the arrival time minus the time ingest accepted the
notification, both read from this machine's one clock. A receipt may arrive before ingest's answer
does: it waits as an orphan until its notification is known.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from array import array
from collections import Counter
from dataclasses import dataclass, field

import httpx

from contracts.push import PLATFORMS, Platform

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25
MAX_READS_PER_POLL = 20


@dataclass
class Expected:
    """One notification: when it was accepted, how many deliveries it should make, how many came;
    ``arrivals`` keeps each platform's arrival times when the phase measures hops."""

    accepted_at: float
    expected: int
    received: int = 0
    arrivals: dict[Platform, list[float]] | None = None


@dataclass
class PhaseTally:
    """Everything one phase sent and everything that came of it."""

    name: str
    keep_arrivals: bool = False
    expected: Counter[Platform] = field(default_factory=Counter)
    delivered: Counter[Platform] = field(default_factory=Counter)
    refused: Counter[int] = field(default_factory=Counter)
    notifications: dict[str, Expected] = field(default_factory=dict)
    arrivals: dict[Platform, array[float]] = field(default_factory=dict)
    latencies: dict[Platform, array[float]] = field(default_factory=dict)
    first_accepted: float | None = None
    last_accepted: float | None = None
    collector: Collector | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        for platform in PLATFORMS:
            self.arrivals[platform] = array("d")
            self.latencies[platform] = array("d")

    def expect(self, notification_id: str, accepted_at: float, devices: Counter[Platform]) -> None:
        """A notification ingest accepted, and the devices it should reach."""
        self.expected.update(devices)
        self.notifications[notification_id] = Expected(
            accepted_at, sum(devices.values()), arrivals={} if self.keep_arrivals else None
        )
        self.first_accepted = min(self.first_accepted or accepted_at, accepted_at)
        self.last_accepted = max(self.last_accepted or accepted_at, accepted_at)
        if self.collector is not None:
            self.collector.claim(notification_id, self)

    def receive(self, platform: Platform, notification_id: str, at: float, status: int) -> None:
        item = self.notifications[notification_id]
        if status >= 300:
            self.refused[status] += 1
            return
        item.received += 1
        self.delivered[platform] += 1
        self.arrivals[platform].append(at)
        self.latencies[platform].append(at - item.accepted_at)
        if item.arrivals is not None:
            item.arrivals.setdefault(platform, []).append(at)
        self.changed.set()

    @property
    def expected_total(self) -> int:
        return sum(self.expected.values())

    @property
    def delivered_total(self) -> int:
        return sum(self.delivered.values())

    @property
    def duplicates(self) -> int:
        return sum(max(0, n.received - n.expected) for n in self.notifications.values())

    @property
    def missing(self) -> int:
        return sum(max(0, n.expected - n.received) for n in self.notifications.values())

    def complete(self) -> bool:
        return self.delivered_total >= self.expected_total and self.missing == 0

    async def completion(self) -> None:
        """Return once every expected delivery has arrived (the caller bounds the wait)."""
        while not self.complete():
            self.changed.clear()
            await self.changed.wait()


class Collector:
    """Reads every emulator's receipts and hands each to the phase of its notification."""

    def __init__(self, http: httpx.AsyncClient, emulator_urls: dict[Platform, str]) -> None:
        self.http = http
        self.urls = emulator_urls
        self.cursors: dict[Platform, int] = dict.fromkeys(emulator_urls, 0)
        self.owners: dict[str, PhaseTally] = {}
        self.orphans: dict[str, list[tuple[Platform, float, int]]] = {}
        self.unattributed: Counter[Platform] = Counter()
        self.statuses: dict[Platform, dict[str, int]] = {}

    def phase(self, name: str, *, keep_arrivals: bool = False) -> PhaseTally:
        return PhaseTally(name, keep_arrivals=keep_arrivals, collector=self)

    def claim(self, notification_id: str, tally: PhaseTally) -> None:
        self.owners[notification_id] = tally
        for platform, at, status in self.orphans.pop(notification_id, []):
            tally.receive(platform, notification_id, at, status)

    async def skip_past(self) -> None:
        """Forget every receipt so far (start-up checks, warm-up)."""
        await self.poll()
        self.orphans.clear()
        self.unattributed.clear()

    async def poll(self) -> None:
        for platform, url in self.urls.items():
            for _ in range(MAX_READS_PER_POLL):
                response = await self.http.get(
                    f"{url}/emulator/receipts", params={"since": self.cursors[platform]}
                )
                response.raise_for_status()
                body = response.json()
                self.cursors[platform] = body["next"]
                self.statuses[platform] = body["statuses"]
                for at, notification_id, status in body["items"]:
                    self._route(platform, notification_id, at, status)
                if not body["items"]:
                    break

    def _route(self, platform: Platform, notification_id: str, at: float, status: int) -> None:
        owner = self.owners.get(notification_id)
        if owner is not None:
            owner.receive(platform, notification_id, at, status)
        elif notification_id:
            self.orphans.setdefault(notification_id, []).append((platform, at, status))
        else:
            self.unattributed[platform] += 1

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set."""
        while not stop.is_set():
            try:
                await self.poll()
            except httpx.HTTPError as error:
                log.warning("reading receipts failed: %s", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_SECONDS)
        await self.poll()
