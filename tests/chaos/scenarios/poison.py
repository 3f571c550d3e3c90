"""Poison on every consumed topic: bytes that are not JSON, JSON of no known shape, and an empty
value, on each topic a service reads, in the middle of a run. Nothing real is lost, no consumer
stops, and every poison record on a topic with a dead-letter topic is parked there.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from contracts import topics
from tests.chaos.dead_letters import parked
from tests.chaos.harness import RATE, WARM_UP, Chaos
from tests.support.kafka import TopicIO

POISON = (b"\xff\xfe not json", b'{"type": "surprise", "version": 99}', b"")
#: Topics read without a consumer group (every service follows apps.changed; ingest follows
#: cancel answers): bad records there are skipped, not parked.
FOLLOWED = (topics.APPS, topics.CANCEL_RESULTS)
#: A key no app or user of the run has, so compacted topics keep every real state.
POISON_KEY = b"chaos/poison"


def consumed() -> list[topics.Topic]:
    """Every topic some service reads."""
    return [topic for topic in topics.all_topics() if topic.dead_letter] + list(FOLLOWED)


async def on_every_consumed_topic(chaos: Chaos) -> None:
    seconds = WARM_UP + chaos.scale.pick(20.0, 10.0)
    load = chaos.load(RATE, seconds)
    await asyncio.sleep(WARM_UP)
    io = TopicIO(chaos.stack.kafka_settings())
    for topic in consumed():
        await io.produce_raw(topic, *((POISON_KEY, value) for value in POISON))
    chaos.step("poison published")
    chaos.note(f"{len(POISON)} poison records on each of {len(consumed())} topics")
    await chaos.settle(load, seconds)
    owed: Counter[str] = Counter()
    for topic in consumed():
        if topic.dead_letter:
            owed[topic.dead_letter] += len(POISON)
    found = await parked(chaos.stack.kafka_settings())
    missing = [f"{name} ({found[name]} of {n})" for name, n in owed.items() if found[name] < n]
    if missing:
        chaos.problem("poison not parked on " + ", ".join(sorted(missing)))
