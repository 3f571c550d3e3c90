"""Many notifications through a whole running stack, counted at the provider emulators per
notification id and platform, so a fault test can tell a lost delivery from a repeated one.

It builds on the pipeline benchmark's pieces (population, rate-limited POST, receipts collector).
The emulators' receipts name the notification, and no user has two devices on one platform, so
each accepted notification owes exactly one delivery to each platform its user has a device on.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts import topics
from contracts.push import PLATFORMS, Platform
from services.devstack.stack import LocalStack
from shared.kafka.clients import client_options
from shared.settings import KafkaSettings
from tests.benchmarks.pipeline.client import post
from tests.benchmarks.pipeline.population import Population, new_family, register_via_api
from tests.benchmarks.pipeline.sender import flat_out
from tests.benchmarks.pipeline.tally import Collector
from tests.support.factories import unique

#: Sends a product backend keeps open at once.
SENDS_IN_FLIGHT = 64
#: Pause before a send that failed (ingest answered 5xx, or no answer) is tried again.
RETRY_PAUSE_SECONDS = 0.25
POLL_SECONDS = 0.2

Delivery = tuple[Platform, str]


@dataclass(frozen=True)
class Outcome:
    """What reached the providers against what was owed, per (platform, notification id)."""

    owed: Counter[Delivery]
    received: Counter[Delivery]
    refused: int
    unattributed: int

    @property
    def missing(self) -> Counter[Delivery]:
        return self.owed - self.received

    @property
    def foreign(self) -> list[Delivery]:
        """Deliveries of notifications nobody sent, or to a platform none of their users has."""
        return [delivery for delivery in self.received if delivery not in self.owed]

    @property
    def duplicates(self) -> int:
        """Repeated deliveries of the same notification to the same platform."""
        return sum((self.received - self.owed).values())

    def summary(self) -> str:
        return (
            f"{len(self.owed):,} owed, {self.received.total():,} delivered, "
            f"{self.duplicates:,} duplicates with the same ids, {self.missing.total():,} lost, "
            f"{len(self.foreign) + self.unattributed:,} foreign, {self.refused:,} refused"
        )


@dataclass
class FaultRun:
    """One run: a population of users, the notifications ingest accepted, and the receipts."""

    stack: LocalStack
    http: httpx.AsyncClient
    population: Population
    collector: Collector
    sent: dict[str, str] = field(default_factory=dict)
    retried: int = 0

    @classmethod
    async def prepare(
        cls, stack: LocalStack, http: httpx.AsyncClient, users: int, devices_per_user: int
    ) -> FaultRun:
        """Register ``users`` users; device d of user u is on platform (u + d) mod 3."""
        family = await new_family(
            http, stack.services["webpush-emulator"].url, users * devices_per_user
        )
        population = await register_via_api(
            http,
            stack.services["registry"].url,
            stack.api_key,
            family,
            users=users,
            devices_per_user=devices_per_user,
            tag=1,
        )
        urls = {p: stack.services[f"{p}-emulator"].url for p in PLATFORMS}
        return cls(stack, http, population, Collector(http, urls))

    async def send(self, total: int) -> None:
        """Send ``total`` notifications, each to one user, round-robin over the population.

        A send that fails is sent again with the same idempotency key until ingest accepts it,
        as a product backend does: a replay names the same notification.
        """
        users = itertools.cycle(self.population.users)

        async def one() -> None:
            user, key = next(users), unique("fault")
            body = {
                "idempotency_key": key,
                "audience": {"user_ids": [user]},
                "content": {"title": "Fault run", "body": key},
            }
            self.sent[await self._accepted(body)] = user

        await flat_out(one, total, SENDS_IN_FLIGHT)

    async def _accepted(self, body: dict[str, Any]) -> str:
        url = f"{self.stack.services['ingest'].url}/v1/notifications"
        while True:
            try:
                response = await post(self.http, url, self._auth, body)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 202:
                return str(response.json()["notification_id"])
            if response is not None and response.status_code < 500:
                raise AssertionError(f"ingest refused a send: {response.text}")
            self.retried += 1
            await asyncio.sleep(RETRY_PAUSE_SECONDS)

    def delivered(self) -> int:
        """Receipts collected so far (every platform, any notification)."""
        return sum(len(items) for items in self.collector.orphans.values())

    def outcome(self) -> Outcome:
        """The receipts so far against what the accepted notifications owe.

        No phase claims these notifications, so the collector keeps every receipt by id.
        """
        owed: Counter[Delivery] = Counter()
        for notification_id, user in self.sent.items():
            for platform, devices in self.population.devices[user].items():
                owed[(platform, notification_id)] += devices
        received: Counter[Delivery] = Counter()
        refused = 0
        for notification_id, receipts in self.collector.orphans.items():
            for platform, _, status in receipts:
                if status >= 300:
                    refused += 1
                else:
                    received[(platform, notification_id)] += 1
        return Outcome(owed, received, refused, self.collector.unattributed.total())

    async def until_delivered(self, count: int) -> None:
        """Collect receipts until ``count`` have arrived (the caller bounds the wait)."""
        while self.delivered() < count:
            await self.collector.poll()
            await asyncio.sleep(POLL_SECONDS)

    async def settle(self, timeout: float) -> Outcome:
        """Collect receipts until nothing owed is missing, or ``timeout`` passes; the outcome."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            await self.collector.poll()
            outcome = self.outcome()
            if not outcome.missing or asyncio.get_running_loop().time() > deadline:
                return outcome
            await asyncio.sleep(POLL_SECONDS)

    async def badges(self) -> dict[str, tuple[int, set[str]]]:
        """Each user's badge and unread notification ids, as badge-count answers the app."""
        found = {}
        for user in self.population.users:
            response = await self.http.get(
                f"{self.stack.services['badge-count'].url}/v1/users/{quote(user, safe='')}/badge",
                headers=self._auth,
            )
            response.raise_for_status()
            body = response.json()
            found[user] = (body["badge"], {u["notification_id"] for u in body["unread"]})
        return found

    def owed_badges(self) -> dict[str, tuple[int, set[str]]]:
        """What each user's badge must be: one per notification sent to them (nobody read any)."""
        by_user: dict[str, set[str]] = {user: set() for user in self.population.users}
        for notification_id, user in self.sent.items():
            by_user[user].add(notification_id)
        return {user: (len(ids), ids) for user, ids in by_user.items()}

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.stack.api_key}"}


async def parked(settings: KafkaSettings) -> dict[str, int]:
    """Records on each dead-letter topic and on the rejected topic: what some stage gave up on."""
    partitions = [
        TopicPartition(settings.address(topic), number)
        for topic in topics.all_topics()
        if topic.name.endswith(".dlq") or topic == topics.REJECTED
        for number in range(settings.partitions_of(topic))
    ]
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    found: Counter[str] = Counter()
    for partition, end in ends.items():
        found[partition.topic] += end
    return {name: count for name, count in found.items() if count}
