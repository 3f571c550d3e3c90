"""Reading parking topics and replaying chosen records, for ``herald dlq`` and the registry's
dead-letter API alike: what to choose and why a record is skipped is decided in
shared.kafka.parked; this module only reads from the cluster and produces to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError

from contracts.topics import Topic
from shared.kafka.clients import client_options, fetch_bytes, refusal
from shared.kafka.parked import (
    Parked,
    Replay,
    Selection,
    Skip,
    parking_topics,
    plan,
    read_letter,
)
from shared.settings import KafkaSettings

#: A fetch that brings nothing for this long, once past the end offsets, has read everything.
#: (The embedded broker under-reports end offsets, so reading stops on quiet, not on them.)
QUIET_MS = 500
#: Quiet fetches in a row before giving up on reaching an end offset that never comes.
MAX_QUIET_FETCHES = 20


class DlqError(RuntimeError):
    """What was asked cannot be done; the message says why."""


class NoParkingTopic(DlqError):
    """The parking topic does not exist on the cluster (nothing was ever parked there)."""


def parking_topic(name: str) -> Topic:
    """The catalog's parking topic called ``name``."""
    for topic in parking_topics():
        if topic.name == name:
            return topic
    names = ", ".join(t.name for t in parking_topics())
    raise DlqError(f"{name} is not a dead-letter topic; they are: {names}")


async def read_parked(
    settings: KafkaSettings, parking: Topic, selection: Selection
) -> AsyncIterator[Parked]:
    """Every chosen record of ``parking``, in offset order within each partition. Nothing is
    committed: reading leaves no trace on the cluster."""
    async for _, parked in read_parking(settings, [parking], selection):
        yield parked


async def read_parking(
    settings: KafkaSettings, parkings: Sequence[Topic], selection: Selection
) -> AsyncIterator[tuple[Topic, Parked]]:
    """Every chosen record of those of ``parkings`` that exist on the cluster, with its topic, in
    offset order within each partition, all read by one consumer that commits nothing.
    NoParkingTopic when none of them exists."""
    consumer = AIOKafkaConsumer(
        **client_options(settings),
        client_id="herald-dlq",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_bytes=fetch_bytes(
            settings.consumer_fetch_max_bytes, max(settings.partitions_of(t) for t in parkings)
        ),
        max_partition_fetch_bytes=settings.max_message_bytes,
    )
    try:
        await consumer.start()
    except KafkaConnectionError as error:
        await consumer.stop()
        raise await refusal(settings) from error
    try:
        existing = await consumer.topics()
        found = {settings.address(p): p for p in parkings if settings.address(p) in existing}
        if not found:
            addresses = ", ".join(settings.address(p) for p in parkings)
            raise NoParkingTopic(f"{addresses} does not exist on {settings.kafka_bootstrap}")
        partitions: list[TopicPartition] = []
        for address, parking in found.items():
            known = consumer.partitions_for_topic(address)
            numbers = sorted(known) if known else range(settings.partitions_of(parking))
            partitions += [
                TopicPartition(address, n) for n in numbers if selection.partition in (None, n)
            ]
        consumer.assign(partitions)
        for partition in partitions:
            consumer.seek(partition, selection.first_offset)
        ends = await consumer.end_offsets(partitions)
        quiet = 0
        while quiet < MAX_QUIET_FETCHES:
            fetched = await consumer.getmany(timeout_ms=QUIET_MS)
            if not fetched:
                caught_up = [await consumer.position(p) >= ends[p] for p in partitions]
                quiet = MAX_QUIET_FETCHES if all(caught_up) else quiet + 1
                continue
            quiet = 0
            for partition, records in sorted(fetched.items()):
                parking = found[partition.topic]
                for record in records:
                    parked = read_letter(parking, partition.partition, record.offset, record.value)
                    if selection.chooses(parked):
                        yield parking, parked
    finally:
        await consumer.stop()


@dataclass(frozen=True)
class ReplayReport:
    """What a replay did: every chosen record's step, and per replayed record (by position)
    where its copy landed (``partition:offset``) or why the broker did not take it."""

    address: str
    chosen: int
    steps: list[Replay | Skip]
    landed: dict[str, str | BaseException]

    @property
    def failed(self) -> int:
        return sum(isinstance(result, BaseException) for result in self.landed.values())


async def replay(
    settings: KafkaSettings, parking: Topic, selection: Selection, *, dry_run: bool
) -> ReplayReport:
    """Send the chosen records of ``parking`` back where they came from (none when a dry run)."""
    address = settings.address(parking)
    chosen = [parked async for parked in read_parked(settings, parking, selection)]
    steps = list(plan(chosen, parking, prefix=settings.topic_prefix, address=address))
    replays = [step for step in steps if isinstance(step, Replay)]
    landed = {} if dry_run else await produce(settings, replays)
    return ReplayReport(address, len(chosen), steps, landed)


async def produce(settings: KafkaSettings, replays: list[Replay]) -> dict[str, str | BaseException]:
    """Send every replay at once; per parked record, where its copy landed or why it did not."""
    if not replays:
        return {}
    producer = AIOKafkaProducer(
        **client_options(settings),
        client_id="herald-dlq",
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        max_request_size=settings.max_message_bytes,
    )
    try:
        await producer.start()
    except KafkaConnectionError as error:
        await producer.stop()
        raise await refusal(settings) from error
    try:
        pending = [
            await producer.send(r.topic, value=r.value, key=r.key, headers=list(r.headers))
            for r in replays
        ]
        results = await asyncio.gather(*pending, return_exceptions=True)
    finally:
        await producer.stop()
    return {
        replay.parked.position: result
        if isinstance(result, BaseException)
        else f"{result.partition}:{result.offset}"
        for replay, result in zip(replays, results, strict=True)
    }
