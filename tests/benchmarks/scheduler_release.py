"""How close to their due time held notifications are released: ``python -m
tests.benchmarks.scheduler_release [--copies N] [--seconds S] [--replicas R] [--burst]``.

Starts the embedded broker and PostgreSQL and R scheduler processes, hands them N copies due over S
seconds (or all at one instant with --burst), and reads notifications.due as they come out.
Lateness is measured twice against each copy's send_at: when the scheduler released it (the due
event's due_at) and when a consumer received it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts import topics
from contracts.base import derived_id
from contracts.codec import decode_as, encode
from contracts.notifications import NotificationDue
from contracts.topics import all_topics
from services.devstack.processes import ServiceProcess
from shared.embedded.broker import start_broker
from shared.embedded.ports import free_port
from shared.embedded.postgres import start_postgres
from shared.kafka.admin import ensure_topics
from shared.kafka.clients import client_options
from shared.kafka.follower import seek_to_first
from shared.settings import KafkaSettings
from tests.support.factories import user_notification


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)

    def at(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

    return (
        f"p50 {at(0.50):7.1f} ms   p90 {at(0.90):7.1f} ms   p99 {at(0.99):7.1f} ms   "
        f"max {ordered[-1] * 1000:7.1f} ms"
    )


async def hand_over(
    bootstrap: str, copies: int, first_due: datetime, spread: float
) -> tuple[float, dict[uuid.UUID, datetime]]:
    """Publish the copies (unique users, due from ``first_due`` over ``spread`` seconds); return
    how long that took and each copy's send_at by the id its due event will have."""
    now = datetime.now(UTC)
    step = spread / copies
    send_at: dict[uuid.UUID, datetime] = {}
    producer = AIOKafkaProducer(
        **client_options(KafkaSettings(kafka_bootstrap=bootstrap)), linger_ms=20
    )
    await producer.start()
    started = time.monotonic()
    try:
        pending = []
        for i in range(copies):
            due_at = first_due + timedelta(seconds=i * step)
            copy = user_notification(
                now, user_id=f"bench-{uuid.uuid4().hex[:12]}", schedule={"send_at": due_at}
            )
            send_at[derived_id(copy.event_id, "due")] = due_at
            pending.append(
                await producer.send(topics.USER.name, encode(copy), key=topics.USER.key_of(copy))
            )
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.monotonic() - started, send_at


async def collect(
    bootstrap: str, copies: int, timeout: float
) -> dict[uuid.UUID, tuple[datetime, datetime]]:
    """(released at, received at) of every due copy read, by its event id."""
    consumer = AIOKafkaConsumer(
        **client_options(KafkaSettings(kafka_bootstrap=bootstrap)),
        enable_auto_commit=False,
        fetch_max_wait_ms=10,
    )
    await consumer.start()
    partitions = [TopicPartition(topics.DUE.name, p) for p in range(topics.DUE.partitions)]
    consumer.assign(partitions)
    seek_to_first(consumer, list(partitions))
    found: dict[uuid.UUID, tuple[datetime, datetime]] = {}
    try:
        async with asyncio.timeout(timeout):
            while len(found) < copies:
                for records in (await consumer.getmany(timeout_ms=100)).values():
                    received = datetime.now(UTC)
                    for record in records:
                        due = decode_as(topics.DUE, record.value, NotificationDue)
                        found.setdefault(due.event_id, (due.due_at, received))
    except TimeoutError:
        sys.stdout.write(f"timed out with {len(found)} of {copies} copies released\n")
    finally:
        await consumer.stop()
    return found


async def measure(bootstrap: str, args: argparse.Namespace) -> None:
    first_due = datetime.now(UTC) + timedelta(seconds=args.lead)
    spread = 0.0 if args.burst else args.seconds
    reader = asyncio.create_task(collect(bootstrap, args.copies, args.lead + spread + 60))
    took, send_at = await hand_over(bootstrap, args.copies, first_due, spread)
    sys.stdout.write(f"handed {args.copies} copies to the scheduler in {took:.1f}s\n")
    found = await reader
    if not found:
        return
    results = [
        ((released - send_at[i]).total_seconds(), (received - send_at[i]).total_seconds())
        for i, (released, received) in found.items()
    ]
    sys.stdout.write(
        f"{len(results)} released by {args.replicas} replica(s), "
        f"{'all due at once' if args.burst else f'due over {spread:.0f}s'}\n"
        f"  released  late by: {percentiles([r[0] for r in results])}\n"
        f"  received  late by: {percentiles([r[1] for r in results])}\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=20.0, help="spread of the due times")
    parser.add_argument("--lead", type=float, default=15.0, help="seconds until the first is due")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--burst", action="store_true", help="every copy due at the same instant")
    args = parser.parse_args()

    run_dir = Path(tempfile.mkdtemp(prefix="herald-bench-"))
    broker = start_broker(free_port(), log_path=run_dir / "broker.log")
    postgres = start_postgres(prefix="herald-bench-pg-")
    replicas: list[ServiceProcess] = []
    try:
        asyncio.run(ensure_topics(KafkaSettings(kafka_bootstrap=broker.bootstrap), all_topics()))
        for n in range(args.replicas):
            port = free_port()
            env = {
                "HERALD_KAFKA_BOOTSTRAP": broker.bootstrap,
                "HERALD_KAFKA_IDEMPOTENCE": "false",
                "HERALD_DATABASE_DSN": postgres.dsn,
                "HERALD_HTTP_PORT": str(port),
                "HERALD_LOG_LEVEL": "WARNING",
            }
            replica = ServiceProcess(
                f"scheduler-{n}", "services.scheduler", port, env, run_dir / f"scheduler-{n}.log"
            )
            replica.start()
            replicas.append(replica)
        for replica in replicas:
            replica.wait_ready(time.monotonic() + 60)
        asyncio.run(measure(broker.bootstrap, args))
    finally:
        for replica in replicas:
            replica.stop()
        postgres.stop()
        broker.stop()
    sys.stdout.write(f"logs in {run_dir}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
