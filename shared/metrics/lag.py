"""Consumer lag per group, topic and partition: the broker's end offset minus the consumer's own
position, sampled by a background loop, so a scrape reads a gauge and never waits on the broker.

A sample costs one ListOffsets request per subscription each interval, however often Prometheus
scrapes. The end offset is the larger of that answer and the high watermark of the consumer's last
fetch: the embedded broker (Tansu 0.6) answers ListOffsets with too low an offset, and a fetch
stalled behind a busy handler leaves the watermark behind. The position is the next record the
consumer hands to its handler, so the batch being handled counts as consumed: the gauge can be
low by at most one batch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka.errors import ConsumerStoppedError, KafkaError
from faststream.kafka import KafkaBroker
from prometheus_client import Gauge

log = logging.getLogger(__name__)

LAG = Gauge(
    "herald_consumer_lag_messages",
    "Records on a partition that the consumer group has not taken yet (end offset - position).",
    ["group", "topic", "partition"],
)

#: Seconds between two samples: lag moves slowly compared with a typical 15-30 s scrape.
LAG_INTERVAL_SECONDS = 10.0

#: (topic, partition) as the broker names it.
Partition = tuple[str, int]
#: The gauge's labels: group and topic without the deployment's prefix, partition as text.
LagKey = tuple[str, str, str]


def without_prefix(name: str, prefix: str) -> str:
    """A topic or group name as the catalog knows it."""
    return name[len(prefix) :] if prefix and name.startswith(prefix) else name


def end_offset(listed: int | None, high_watermark: int | None) -> int | None:
    """The broker's end offset as best known: both answers are lower bounds of it."""
    known = [offset for offset in (listed, high_watermark) if offset is not None]
    return max(known) if known else None


def partition_lag(end: int, position: int) -> int:
    """Records not taken yet; never negative (an end offset fetched before a position moved)."""
    return max(0, end - position)


def lag_samples(
    group: str, prefix: str, ends: Mapping[Partition, int], positions: Mapping[Partition, int]
) -> dict[LagKey, int]:
    """The lag of every partition with both an end offset and a position."""
    return {
        (
            without_prefix(group, prefix),
            without_prefix(topic, prefix),
            str(partition),
        ): partition_lag(end, positions[(topic, partition)])
        for (topic, partition), end in ends.items()
        if (topic, partition) in positions
    }


def gone(reported: Iterable[LagKey], current: Mapping[LagKey, int]) -> set[LagKey]:
    """Partitions reported before that this replica no longer holds (a rebalance moved them)."""
    return set(reported) - set(current)


class LagMonitor:
    """Samples the lag of every subscriber of one broker until stopped."""

    def __init__(
        self, broker: KafkaBroker, prefix: str, interval: float = LAG_INTERVAL_SECONDS
    ) -> None:
        self._broker = broker
        self._prefix = prefix
        self._interval = interval
        self._reported: set[LagKey] = set()

    async def sample(self) -> None:
        """Read every assigned partition's end offset and position and publish the gauges."""
        current: dict[LagKey, int] = {}
        for subscriber in self._broker.subscribers:
            consumer: Any = getattr(subscriber, "consumer", None)
            group: str | None = getattr(subscriber, "group_id", None)
            if consumer is None or group is None:
                continue
            assigned = list(consumer.assignment())
            if not assigned:
                continue
            ends = await consumer.end_offsets(assigned)
            positions: dict[Partition, int] = {}
            for tp in assigned:
                try:
                    positions[(tp.topic, tp.partition)] = await consumer.position(tp)
                except KafkaError:
                    continue  # revoked since assignment() answered
            # The awaits above let a rebalance take partitions away, and asking a consumer about a
            # partition it no longer holds is an AssertionError: look again, with no await between.
            still = consumer.assignment()
            ends_by_name = {
                (tp.topic, tp.partition): end
                for tp in assigned
                if tp in still
                and (end := end_offset(ends.get(tp), consumer.highwater(tp))) is not None
            }
            current.update(lag_samples(group, self._prefix, ends_by_name, positions))
        for key in gone(self._reported, current):
            LAG.remove(*key)
        for key, lag in current.items():
            LAG.labels(*key).set(lag)
        self._reported = set(current)

    async def run(self, stopping: asyncio.Event) -> None:
        """Sample every interval; a sample the broker cannot answer in time is skipped, and one
        under way when the service stops is abandoned: a consumer stopped while ``position()``
        waits for it never answers, and that held every service's shutdown for the whole
        interval (10 s of teardown in a third of the integration tests)."""
        while not stopping.is_set():
            sampling = asyncio.ensure_future(self.sample())
            stopped = asyncio.ensure_future(stopping.wait())
            try:
                await asyncio.wait(
                    {sampling, stopped},
                    timeout=self._interval,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                stopped.cancel()
                sampling.cancel()
            error = (await asyncio.gather(sampling, return_exceptions=True))[0]
            if isinstance(error, (KafkaError, ConsumerStoppedError)):
                log.debug("consumer lag not sampled: %s", error)
            elif isinstance(error, BaseException) and not isinstance(error, asyncio.CancelledError):
                raise error
            try:
                await asyncio.wait_for(stopping.wait(), self._interval)
            except TimeoutError:
                continue
