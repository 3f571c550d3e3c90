"""What the stages gave up on: the records on every dead-letter topic and on the rejected topic,
counted by reading them. End offsets will not do: the embedded broker reports a batch of records
as one offset (three dead letters published together read as one).
"""

from __future__ import annotations

from collections import Counter

from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts import topics
from shared.kafka.clients import client_options
from shared.kafka.follower import seek_to_first
from shared.settings import KafkaSettings

#: A read that brings nothing for this long has reached the end of every partition.
QUIET_MS = 1500
#: Reads at most: a dead-letter topic of a fault run holds a few hundred records, not millions.
MAX_READS = 200


def parking_topics() -> list[topics.Topic]:
    return [
        topic
        for topic in topics.all_topics()
        if topic.name.endswith(".dlq") or topic == topics.REJECTED
    ]


async def parked(settings: KafkaSettings) -> Counter[str]:
    """Records on each dead-letter topic and on the rejected topic, by catalog name."""
    watched = parking_topics()
    names = {settings.address(topic): topic.name for topic in watched}
    partitions = [
        TopicPartition(settings.address(topic), number)
        for topic in watched
        for number in range(settings.partitions_of(topic))
    ]
    consumer = AIOKafkaConsumer(
        **client_options(settings), enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: Counter[str] = Counter()
    try:
        consumer.assign(partitions)
        seek_to_first(consumer, list(partitions))
        for _ in range(MAX_READS):
            batch = await consumer.getmany(timeout_ms=QUIET_MS)
            if not batch:
                break
            for partition, records in batch.items():
                found[names[partition.topic]] += len(records)
    finally:
        await consumer.stop()
    return found
