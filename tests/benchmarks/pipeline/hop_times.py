"""Where a phase's latency goes, hop by hop: each step's output record carries a Kafka timestamp set
by the service that produced it, so the time from one step's record to the next is that service's
share (its consumer's fetch wait included).

The reader notes the end of every pipeline topic before the phase and reads from there after it,
keeping the records of the phase's own notifications. The last hop ends at the provider: receipts
do not name the device, so a notification's push records on a platform are paired with its arrivals
at that provider in time order (exact on average, a close estimate per push).
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts import topics
from contracts.push import PLATFORMS, Platform
from shared.kafka.clients import client_options
from shared.settings import KafkaSettings
from tests.benchmarks.pipeline.phases import latency_figures
from tests.benchmarks.pipeline.tally import PhaseTally

STEPS = (topics.USER, topics.DUE, topics.COUNTED)
STEP_SERVICES = ("ingest", "scheduler", "badge-count")
FETCH_WAIT_MS = 50
IDLE_MS = 500
MAX_RECORDS = 10_000
READ_TIMEOUT_SECONDS = 120.0

Offsets = dict[TopicPartition, int]
UserCopy = tuple[str, str]


def hop_names() -> list[str]:
    """Every hop in pipeline order, each naming the service whose work it is."""
    names, previous = [], "accepted"
    for step, service in zip(STEPS, STEP_SERVICES, strict=True):
        names.append(f"{previous} -> {step.name} ({service})")
        previous = step.name
    names.append(f"{previous} -> push.* (registry)")
    names += [f"{topics.PUSH[p].name} -> provider (dispatcher-{p})" for p in PLATFORMS]
    return names


@dataclass
class Stamps:
    """Record timestamps (Unix seconds) of one phase's notifications, by (notification, user):
    each step topic's, and every push made for that user's devices."""

    steps: dict[UserCopy, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    pushes: dict[UserCopy, list[tuple[Platform, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )


class TopicClock:
    """Reads the pipeline topics' record timestamps between two moments of a run."""

    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings
        self.platform_of = {topics.PUSH[p].name: p for p in PLATFORMS}
        self.partitions = [
            TopicPartition(topic.name, n)
            for topic in (*STEPS, *topics.PUSH.values())
            for n in range(topic.partitions)
        ]

    def _consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            **client_options(self.settings),
            enable_auto_commit=False,
            fetch_max_wait_ms=FETCH_WAIT_MS,
        )

    async def mark(self) -> Offsets:
        """Where every pipeline topic ends now (the embedded broker may answer a little earlier,
        which only means reading a few older records that the phase filter drops)."""
        consumer = self._consumer()
        await consumer.start()
        try:
            ends: dict[TopicPartition, int] = await consumer.end_offsets(self.partitions)
        finally:
            await consumer.stop()
        return ends

    async def read(self, since: Offsets, wanted: Collection[str]) -> Stamps:
        """The timestamps of records after ``since`` that belong to the ``wanted`` notifications."""
        stamps = Stamps()
        consumer = self._consumer()
        await consumer.start()
        try:
            consumer.assign(list(since))
            for partition, offset in since.items():
                consumer.seek(partition, offset)
            ends: dict[TopicPartition, int] = await consumer.end_offsets(list(since))
            async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                while True:
                    batches = await consumer.getmany(timeout_ms=IDLE_MS, max_records=MAX_RECORDS)
                    for partition, records in batches.items():
                        for record in records:
                            self._keep(stamps, partition.topic, record, wanted)
                    if not batches and await self._caught_up(consumer, ends):
                        break
        finally:
            await consumer.stop()
        return stamps

    @staticmethod
    async def _caught_up(consumer: AIOKafkaConsumer, ends: Offsets) -> bool:
        for partition, end in ends.items():
            if await consumer.position(partition) < end:
                return False
        return True

    def _keep(self, stamps: Stamps, topic: str, record: Any, wanted: Collection[str]) -> None:
        value = json.loads(record.value or b"{}")
        notification = value.get("notification_id")
        if notification not in wanted:
            return
        copy = (notification, value.get("user_id", ""))
        at = record.timestamp / 1000
        platform = self.platform_of.get(topic)
        if platform is None:
            stamps.steps[copy][topic] = at
        else:
            stamps.pushes[copy].append((platform, at))


def hop_latencies(tally: PhaseTally, stamps: Stamps) -> dict[str, dict[str, float | int | None]]:
    """p50/p90/p99/max and count of each hop over the phase's notifications."""
    names = hop_names()
    samples: dict[str, list[float]] = {name: [] for name in names}
    pushed_at: dict[tuple[str, Platform], list[float]] = defaultdict(list)
    for (notification, user), times in stamps.steps.items():
        at = tally.notifications[notification].accepted_at
        for name, step in zip(names, STEPS, strict=False):
            if step.name not in times:
                break
            samples[name].append(times[step.name] - at)
            at = times[step.name]
        else:
            for platform, pushed in stamps.pushes.get((notification, user), []):
                samples[names[len(STEPS)]].append(pushed - at)
                pushed_at[(notification, platform)].append(pushed)
    last = dict(zip(PLATFORMS, names[len(STEPS) + 1 :], strict=True))
    for (notification, platform), pushes in pushed_at.items():
        arrivals = (tally.notifications[notification].arrivals or {}).get(platform, [])
        for pushed, arrived in zip(sorted(pushes), sorted(arrivals), strict=False):
            samples[last[platform]].append(arrived - pushed)
    return {name: latency_figures(values) for name, values in samples.items()}


def slowest(hops: dict[str, dict[str, Any]]) -> str | None:
    """The hop with the highest median."""
    measured = {name: f["p50"] for name, f in hops.items() if f.get("p50") is not None}
    return max(measured, key=lambda name: measured[name]) if measured else None
