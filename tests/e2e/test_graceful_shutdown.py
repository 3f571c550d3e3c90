"""SIGTERM to a dispatcher process with pushes in flight to a slow provider: it stops consuming,
finishes what it holds or hands it back uncommitted, and exits 0 within its drain bound; no push is
lost, and a push is only sent again when its offset was never committed.

The FCM emulator accepts each push at once and holds its answer (the latency setting), so the
emulator's listing shows the pushes the dispatcher has in flight before the signal goes.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from contracts import topics
from contracts.push import PushRequest, PushResult
from services.devstack.processes import ServiceProcess
from shared.embedded.brokers import LocalBroker
from shared.embedded.ports import free_port
from shared.kafka.admin import ensure_topics
from shared.kafka.clients import client_options
from shared.settings import KafkaSettings, env_name
from tests.support.factories import push_request
from tests.support.fcm import RunningEmulator, fcm_emulator
from tests.support.kafka import TopicIO, kafka_settings_for_test

pytestmark = pytest.mark.e2e

PUSHES = 12
GROUP = "dispatcher-fcm"
IN_FLIGHT = re.compile(r"stopped consuming; (\d+) messages? in flight")
START_SECONDS = 60.0


def dispatcher_process(
    kafka: KafkaSettings, emulator: RunningEmulator, folder: Path, drain_seconds: float
) -> ServiceProcess:
    """The FCM dispatcher as ``make run`` starts it, aimed at the emulator and the test's topics."""
    env = {
        "HERALD_KAFKA_BOOTSTRAP": kafka.kafka_bootstrap,
        "HERALD_TOPIC_PREFIX": kafka.topic_prefix,
        "HERALD_KAFKA_IDEMPOTENCE": str(kafka.kafka_idempotence).lower(),
        "HERALD_SESSION_TIMEOUT_MS": str(kafka.session_timeout_ms),
        "HERALD_HEARTBEAT_INTERVAL_MS": str(kafka.heartbeat_interval_ms),
        "HERALD_SHUTDOWN_DRAIN_SECONDS": str(drain_seconds),
        "HERALD_LOG_LEVEL": "INFO",
        **{env_name(name): str(value) for name, value in emulator.dispatcher_settings().items()},
    }
    port = free_port()
    env["HERALD_HTTP_PORT"] = str(port)
    return ServiceProcess(GROUP, "services.dispatcher", port, env, folder / f"{GROUP}.log")


@asynccontextmanager
async def started(process: ServiceProcess) -> AsyncIterator[ServiceProcess]:
    """The process, ready; killed at the end if the test left it running."""
    await asyncio.to_thread(process.start)
    try:
        await asyncio.to_thread(process.wait_ready, time.monotonic() + START_SECONDS)
        yield process
    finally:
        await asyncio.to_thread(process.kill)


async def sigterm(process: ServiceProcess) -> tuple[int, float, str]:
    """Send SIGTERM and wait for the exit: its code, seconds taken, and the log."""
    assert process.process is not None
    child = process.process
    sent = time.monotonic()
    child.send_signal(signal.SIGTERM)
    try:
        code = await asyncio.to_thread(child.wait, 60)
    except subprocess.TimeoutExpired:
        child.kill()
        raise AssertionError(f"still running 60 s after SIGTERM\n{process.log_tail()}") from None
    process.process = None
    return code, time.monotonic() - sent, process.log_path.read_text(errors="replace")


async def set_latency(emulator: RunningEmulator, seconds: float) -> None:
    async with httpx.AsyncClient(base_url=emulator.base_url, trust_env=False) as client:
        reply = await client.put("/emulator/latency", json={"seconds": seconds})
        reply.raise_for_status()


async def accepted(emulator: RunningEmulator) -> Counter[str]:
    """How often the emulator accepted each device token."""
    return Counter(item["message"]["token"] for item in await emulator.recorded())


async def until_accepted(emulator: RunningEmulator, count: int, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while True:
            if sum((await accepted(emulator)).values()) >= count:
                return
            await asyncio.sleep(0.05)


async def committed_and_ends(kafka: KafkaSettings) -> tuple[dict[int, int], dict[int, int]]:
    """The dispatcher group's committed offset and the offset after the last push, for each
    push.fcm partition that holds pushes (read from the records: the embedded broker's end offsets
    are unreliable)."""
    records = await TopicIO(kafka).read(
        topics.PUSH["fcm"], until=lambda found: len(found) >= PUSHES, decoded=False
    )
    ends: dict[int, int] = {}
    for record in records:
        ends[record.partition] = max(ends.get(record.partition, 0), record.offset + 1)
    partitions = [TopicPartition(kafka.address(topics.PUSH["fcm"]), number) for number in ends]
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(
            f"{kafka.topic_prefix}{GROUP}", partitions=partitions
        )
    finally:
        await admin.close()
    committed = {tp.partition: max(meta.offset, 0) for tp, meta in offsets.items()}
    return committed, ends


def in_flight_logged(log: str) -> int:
    found = IN_FLIGHT.search(log)
    assert found is not None, f"no 'stopped consuming; N messages in flight' line\n{log}"
    return int(found.group(1))


async def waiting_on_the_topic(kafka: KafkaSettings, sent: list[PushRequest]) -> None:
    """Write the pushes before the dispatcher starts, so its first fetch holds all of them: sent
    to a running dispatcher on Apache Kafka, a produce retried after NotLeaderForPartition (the
    topics were just created) arrived after the rest, in a second batch the test then waited on."""
    await ensure_topics(kafka, [topics.PUSH["fcm"]])
    await TopicIO(kafka).produce(topics.PUSH["fcm"], *sent)


def pushes() -> list[PushRequest]:
    now = datetime.now(UTC)
    return [push_request(now, "fcm", token=f"shutdown:{n}") for n in range(PUSHES)]


async def test_sigterm_finishes_the_pushes_in_flight_commits_them_and_exits_0(
    broker: LocalBroker, tmp_path: Path
) -> None:
    kafka = kafka_settings_for_test(broker.bootstrap)
    sent = pushes()
    async with fcm_emulator(tmp_path / "fcm") as emulator:
        await set_latency(emulator, 3.0)
        await waiting_on_the_topic(kafka, sent)
        process = dispatcher_process(kafka, emulator, tmp_path, drain_seconds=10)
        async with started(process):
            await until_accepted(emulator, PUSHES)
            code, seconds, log = await sigterm(process)
        delivered = await accepted(emulator)
        committed, ends = await committed_and_ends(kafka)
        results = await TopicIO(kafka).read(
            topics.RESULTS, until=lambda found: len(found) >= PUSHES
        )

    assert code == 0, log
    assert seconds < 10 + 5, f"took {seconds:.1f} s\n{log}"
    assert in_flight_logged(log) == PUSHES, log
    assert delivered == Counter({push.token: 1 for push in sent})
    assert committed == ends, "every push finished, so every offset is committed"
    assert {r.device_id for r in results if isinstance(r, PushResult)} == {
        push.device_id for push in sent
    }
    assert all(r.outcome == "delivered" for r in results)


async def test_pushes_that_outlast_the_drain_are_handed_back_and_sent_after_a_restart(
    broker: LocalBroker, tmp_path: Path
) -> None:
    kafka = kafka_settings_for_test(broker.bootstrap)
    sent = pushes()
    drain = 1.0
    async with fcm_emulator(tmp_path / "fcm") as emulator:
        await set_latency(emulator, 8.0)
        await waiting_on_the_topic(kafka, sent)
        first = dispatcher_process(kafka, emulator, tmp_path, drain_seconds=drain)
        async with started(first):
            await until_accepted(emulator, PUSHES)
            code, seconds, log = await sigterm(first)
        committed, ends = await committed_and_ends(kafka)
        await set_latency(emulator, 0.0)
        second = dispatcher_process(kafka, emulator, tmp_path / "restarted", drain_seconds=drain)
        async with started(second):
            await until_accepted(emulator, 2 * PUSHES)
            results = await TopicIO(kafka).read(
                topics.RESULTS, until=lambda found: len(found) >= PUSHES
            )
        delivered = await accepted(emulator)

    assert code == 0, log
    assert seconds < drain + 5, f"took {seconds:.1f} s\n{log}"
    assert in_flight_logged(log) == PUSHES, log
    assert f"{PUSHES} messages handed back uncommitted" in log, log
    assert committed == dict.fromkeys(ends, 0), "nothing unfinished was committed"
    assert delivered == Counter({push.token: 2 for push in sent}), (
        "each push went once before the signal and once after the restart"
    )
    assert {r.device_id for r in results if isinstance(r, PushResult)} == {
        push.device_id for push in sent
    }
