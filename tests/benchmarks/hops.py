"""Where a push's latency goes, hop by hop: ``python -m tests.benchmarks.hops [--sends N]
[--rate R] [--broker kafka] [--env HERALD_X=Y ...]``.

Starts the stack (as ``make run`` does), registers one user with a device on each platform, sends
N notifications to that user at R per second (light load, so queueing does not hide the hops), then
reads back every record on the pipeline's topics. Each hop is the time between the Kafka record
timestamps (set when the producing service sent it) of one step and the next; the last hop ends
when the emulator received the provider request. ``--env`` passes settings to every service, to
compare, for example, consumer fetch waits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections import defaultdict

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts import topics
from contracts.push import PLATFORMS, Platform
from contracts.topics import Topic
from services.devstack.stack import LocalStack, StackOptions
from shared.embedded.brokers import broker_kind
from shared.kafka.clients import client_options
from shared.kafka.follower import seek_to_first
from shared.settings import KafkaSettings
from tests.benchmarks.pipeline.population import new_family, token_for

USER = "hop-user"
STEPS: tuple[Topic, ...] = (topics.USER, topics.DUE, topics.COUNTED)
READ_IDLE_MS = 500
SETTLE_SECONDS = 3.0


async def register(http: httpx.AsyncClient, stack: LocalStack) -> None:
    family = await new_family(http, stack.services["webpush-emulator"].url, 1)
    for platform in PLATFORMS:
        token = token_for(platform, 9, 0, family)
        response = await http.post(
            f"{stack.services['registry'].url}/v1/devices",
            headers={"Authorization": f"Bearer {stack.api_key}"},
            json={"user_id": USER, "platform": platform, "token": token},
        )
        response.raise_for_status()


async def send(
    http: httpx.AsyncClient, stack: LocalStack, count: int, rate: float
) -> dict[str, float]:
    """Send ``count`` notifications; when each request left, by notification id."""
    sent_at: dict[str, float] = {}
    for i in range(count):
        started = time.time()
        response = await http.post(
            f"{stack.services['ingest'].url}/v1/notifications",
            headers={"Authorization": f"Bearer {stack.api_key}"},
            json={
                "idempotency_key": uuid.uuid4().hex,
                "audience": {"user_ids": [USER]},
                "content": {"title": "Hop", "body": str(i)},
            },
        )
        response.raise_for_status()
        sent_at[response.json()["notification_id"]] = started
        await asyncio.sleep(max(0.0, 1 / rate - (time.time() - started)))
    return sent_at


async def arrivals(http: httpx.AsyncClient, stack: LocalStack) -> dict[tuple[str, str], float]:
    """When each emulator received each notification, by (platform, notification id)."""
    found: dict[tuple[str, str], float] = {}
    for platform in PLATFORMS:
        url = stack.services[f"{platform}-emulator"].url
        response = await http.get(f"{url}/emulator/receipts")
        response.raise_for_status()
        for at, notification_id, _ in response.json()["items"]:
            found[(platform, notification_id)] = float(at)
    return found


async def record_times(bootstrap: str) -> dict[tuple[str, str], float]:
    """Record timestamps by (topic name, notification id) for every step's topic."""
    names = [step.name for step in STEPS] + [topics.PUSH[p].name for p in PLATFORMS]
    parts = [
        TopicPartition(topic.name, n)
        for topic in (*STEPS, *topics.PUSH.values())
        for n in range(topic.partitions)
    ]
    consumer = AIOKafkaConsumer(
        **client_options(KafkaSettings(kafka_bootstrap=bootstrap)), enable_auto_commit=False
    )
    await consumer.start()
    found: dict[tuple[str, str], float] = {}
    try:
        consumer.assign(parts)
        seek_to_first(consumer, list(parts))
        while batch := await consumer.getmany(timeout_ms=READ_IDLE_MS):
            for tp, records in batch.items():
                for record in records:
                    value = json.loads(record.value or b"{}")
                    if tp.topic in names and "notification_id" in value:
                        found[(tp.topic, value["notification_id"])] = record.timestamp / 1000
    finally:
        await consumer.stop()
    return found


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    if not ordered:
        return "no samples"
    p50, p90 = ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"p50 {p50 * 1000:6.1f} ms   p90 {p90 * 1000:6.1f} ms   max {ordered[-1] * 1000:6.1f} ms"


def hops(
    sent_at: dict[str, float],
    stamps: dict[tuple[str, str], float],
    received: dict[tuple[str, str], float],
) -> dict[str, list[float]]:
    """Each hop's durations over every notification that completed it."""
    found: dict[str, list[float]] = defaultdict(list)
    for notification_id, started in sent_at.items():
        previous, at = "request", started
        for step in STEPS:
            stamp = stamps.get((step.name, notification_id))
            if stamp is None:
                break
            found[f"{previous} -> {step.name}"].append(stamp - at)
            previous, at = step.name, stamp
        else:
            for platform in PLATFORMS:
                pushed = stamps.get((topics.PUSH[platform].name, notification_id))
                arrived = received.get((platform, notification_id))
                if pushed is not None and arrived is not None:
                    found[f"{previous} -> push.{platform}"].append(pushed - at)
                    found[f"push.{platform} -> {platform} provider"].append(arrived - pushed)
                    found[f"total to the {platform} provider"].append(arrived - started)
    return found


async def measure(stack: LocalStack, count: int, rate: float) -> dict[str, list[float]]:
    if stack.broker is None:
        raise RuntimeError("the stack is not running")
    async with httpx.AsyncClient(timeout=30) as http:
        await register(http, stack)
        await asyncio.sleep(SETTLE_SECONDS)
        sent_at = await send(http, stack, count, rate)
        await asyncio.sleep(SETTLE_SECONDS)
        received = await arrivals(http, stack)
    return hops(sent_at, await record_times(stack.broker.bootstrap), received)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.hops")
    parser.add_argument("--sends", type=int, default=60)
    parser.add_argument("--rate", type=float, default=10.0, help="notifications per second")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--broker", type=broker_kind, default="embedded", help="embedded or kafka")
    args = parser.parse_args(argv)
    env = dict(item.split("=", 1) for item in args.env)
    stack = LocalStack(
        StackOptions(
            prefer_default_ports=False, broker=args.broker, log_level="WARNING", service_env=env
        )
    )
    stack.start(progress=lambda line: print(f"==> {line}", flush=True))
    try:
        found = asyncio.run(measure(stack, args.sends, args.rate))
    finally:
        stack.stop()
    for name, values in found.items():
        print(f"{name:42s} n={len(values):4d}   {percentiles(values)}")
    complete: list[Platform] = [
        p for p in PLATFORMS if len(found.get(f"total to the {p} provider", [])) == args.sends
    ]
    if len(complete) != len(PLATFORMS):
        print("NOT TRUSTWORTHY: some notifications did not reach every provider")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
