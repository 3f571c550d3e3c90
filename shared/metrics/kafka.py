"""What flows through Kafka: records consumed, produced, failed and parked per topic, and how long
a handler takes per batch. Topic labels are catalog names (no deployment prefix), so they stay few.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Literal

from prometheus_client import Counter, Histogram

CONSUMED = Counter(
    "herald_messages_consumed_total",
    "Records a consumer group fetched from a topic and handed to its handler.",
    ["topic", "group"],
)
PRODUCED = Counter(
    "herald_messages_produced_total",
    "Records published to a topic and acknowledged by the broker.",
    ["topic"],
)
FAILED = Counter(
    "herald_messages_failed_total",
    "Records in a handler attempt that raised (the attempt is retried or the record parked).",
    ["topic", "group", "kind"],
)
PARKED = Counter(
    "herald_messages_parked_total",
    "Records put on a dead-letter topic: undecodable, or refused by the handler for good"
    " (counted as the dead letter is made; a batch delivered again counts again).",
    ["topic", "group", "cause"],
)
HANDLER_DURATION = Histogram(
    "herald_handler_duration_seconds",
    "Time one fetched batch takes to its effects: decoding, the handler (retries included) and"
    " its dead letters, before the offset is committed.",
    ["topic", "group"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

#: Why a handler attempt failed: a passing outage, a permanent refusal, anything else.
FailureKind = Literal["transient", "permanent", "error"]
#: Why a record was parked.
ParkCause = Literal["undecodable", "refused"]


class ConsumerMeter:
    """The instruments of one subscription (a topic read by a consumer group)."""

    def __init__(self, topic: str, group: str) -> None:
        self._consumed = CONSUMED.labels(topic=topic, group=group)
        self._duration = HANDLER_DURATION.labels(topic=topic, group=group)
        self._topic = topic
        self._group = group

    def consumed(self, count: int) -> None:
        self._consumed.inc(count)

    def failed(self, kind: FailureKind, count: int) -> None:
        FAILED.labels(topic=self._topic, group=self._group, kind=kind).inc(count)

    def parked(self, cause: ParkCause) -> None:
        PARKED.labels(topic=self._topic, group=self._group, cause=cause).inc()

    @contextmanager
    def handling(self) -> Iterator[None]:
        """Time the block as one batch's way through the consumer."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self._duration.observe(time.perf_counter() - start)


def count_produced(topic_names: Iterable[str]) -> None:
    """Count records the broker acknowledged, one topic name per record."""
    for name, count in Tally(topic_names).items():
        PRODUCED.labels(topic=name).inc(count)
