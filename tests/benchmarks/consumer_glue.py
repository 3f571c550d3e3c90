"""What the consumer and publisher glue costs a record: ``python -m tests.benchmarks.consumer_glue
[--records N] [--max-records M]``.

Starts the embedded broker, fills notifications.due with N records, then consumes them through
``shared.kafka.subscribe`` in batches of at most M, and the handler publishes one counted
notification per record through ``Bus.publish_all``: fetch, FastStream's call, decode, encode,
partitioning, produce and commit, and nothing of any service. Reports this process's CPU time per
record and per batch (the broker runs in its own process). Run it from each tree to compare,
alternating, and say how busy the machine was: CPU time still rises on a crowded machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

from contracts import topics
from contracts.base import derived_id
from contracts.notifications import NotificationCounted, NotificationDue
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.ports import free_port
from shared.kafka import Bus, Received, Rejection, create_bus, subscribe
from shared.runtime import prepare_topics
from tests.support.clock import FrozenClock
from tests.support.factories import due
from tests.support.kafka import TopicIO, kafka_settings_for_test

PRODUCE_CHUNK = 2000


def counted(message: NotificationDue) -> NotificationCounted:
    fields = message.model_dump(exclude={"type", "version", "event_id"})
    return NotificationCounted(**fields, event_id=derived_id(message.event_id, "counted"))


@dataclass
class Republisher:
    """Publishes a counted notification per record and says when ``expected`` were handled."""

    bus: Bus
    expected: int
    done: asyncio.Event
    records: int = 0
    batches: int = 0

    async def __call__(self, batch: Sequence[Received[NotificationDue]]) -> Sequence[Rejection]:
        await self.bus.publish_all((topics.COUNTED, counted(item.message)) for item in batch)
        self.records += len(batch)
        self.batches += 1
        if self.records >= self.expected:
            self.done.set()
        return ()


async def measure(records: int, max_records: int) -> str:
    broker = EmbeddedBroker(free_port()).start()
    try:
        kafka = kafka_settings_for_test(broker.bootstrap)
        await prepare_topics(kafka)
        clock = FrozenClock()
        inputs = [due(clock.now(), f"user-{n}") for n in range(records)]
        io = TopicIO(kafka)
        for start in range(0, records, PRODUCE_CHUNK):
            await io.produce(topics.DUE, *inputs[start : start + PRODUCE_CHUNK])
        bus = create_bus(kafka, client_id="glue-bench")
        handler = Republisher(bus, records, asyncio.Event())
        subscribe(
            bus,
            topics.DUE,
            group="glue-bench",
            handler=handler,
            clock=clock,
            max_records=max_records,
        )
        cpu, wall = time.process_time(), time.monotonic()
        await bus.start()
        await asyncio.wait_for(handler.done.wait(), timeout=600)
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        await bus.broker.stop()
    finally:
        broker.stop()
    return (
        f"records={handler.records} batches={handler.batches} max_records={max_records} "
        f"cpu_us_per_record={cpu / handler.records * 1e6:.1f} "
        f"cpu_us_per_batch={cpu / handler.batches * 1e6:.0f} wall_s={wall:.1f} "
        f"load_1m={os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--max-records", type=int, default=500, help="largest batch consumed")
    args = parser.parse_args()
    print(asyncio.run(measure(args.records, args.max_records)))


if __name__ == "__main__":
    main()
