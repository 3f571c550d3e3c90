"""Broker faults in the middle of a run through the whole stack: a broker of a replicated cluster
killed, the lone broker of a one-node setup restarted. Every delivery still reaches the providers;
a repeat is tolerated only as the same notification again.

Kafka only: the embedded broker keeps its log in memory (a restart loses every topic, offset and
group) and has no replication, so neither fault can be survived, or even staged, on it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from contracts.topics import all_topics
from services.devstack.stack import LocalStack, StackOptions
from shared.embedded.kafka import KafkaCluster, start_kafka
from shared.kafka.admin import admin_client, observe
from shared.kafka.topology import differences, wanted_topics
from shared.settings import KafkaSettings
from tests.support.fault_run import FaultRun, parked

pytestmark = [pytest.mark.e2e, pytest.mark.kafka_only, pytest.mark.solo]

#: The issue's run for the replicated cluster; the lone broker's restart needs fewer to show.
REPLICATED_RUN = 5_000
LONE_RUN = 2_500
USERS = 99
DEVICES_PER_USER = 1
#: The longest the run may stall anywhere before the test gives up.
FLOW_SECONDS = 90.0
#: The API key's send rate limit, out of the way: the fault, not 429s, should shape the run.
UNLIMITED = 100_000
NODE_HEAP = "384m"


@contextmanager
def stack_on(cluster: KafkaCluster, replication: int = 1) -> Iterator[LocalStack]:
    """The whole stack on a cluster the test started (and stops itself)."""
    stack = LocalStack(
        StackOptions(
            prefer_default_ports=False,
            broker="kafka",
            fast_group_membership=True,
            kafka_replication=replication,
            service_env={"HERALD_RATE_LIMIT_KEY_PER_SECOND": str(UNLIMITED)},
        ),
        broker=cluster,
    )
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


@contextmanager
def cluster_of(brokers: int) -> Iterator[KafkaCluster]:
    """Nodes whose logs are thrown away after the test, so they are killed, not shut down."""
    cluster = start_kafka(brokers, heap=NODE_HEAP)
    try:
        yield cluster
    finally:
        for node in cluster.nodes:
            cluster.kill(node.node_id)
        cluster.stop()


@pytest.fixture
def replicated() -> Iterator[tuple[KafkaCluster, LocalStack]]:
    """Three brokers, every topic on all three, writes acknowledged by two of them."""
    with cluster_of(3) as cluster, stack_on(cluster, replication=3) as stack:
        yield cluster, stack


@pytest.fixture
def lone() -> Iterator[tuple[KafkaCluster, LocalStack]]:
    with cluster_of(1) as cluster, stack_on(cluster) as stack:
        yield cluster, stack


async def partition_leaders(settings: KafkaSettings) -> Counter[int]:
    """How many partitions (Herald's and Kafka's own) each broker leads."""
    async with admin_client(settings) as admin:
        described = await admin.describe_topics()
    return Counter(p["leader"] for topic in described for p in topic["partitions"])


async def run_with_fault(
    stack: LocalStack, notifications: int, fault: Callable[[], Awaitable[str]]
) -> None:
    """Send ``notifications`` through ``stack``, stage ``fault`` once a quarter of the deliveries
    arrived, and check that every delivery and every badge came out right."""
    async with httpx.AsyncClient(timeout=60) as http:
        run = await FaultRun.prepare(stack, http, USERS, DEVICES_PER_USER)
        started = time.monotonic()
        sending = asyncio.create_task(run.send(notifications))
        try:
            async with asyncio.timeout(FLOW_SECONDS):
                await run.until_delivered(notifications * DEVICES_PER_USER // 4)
            what = await fault()
            at_fault = run.delivered()
            await asyncio.wait([sending], timeout=FLOW_SECONDS)
            assert sending.done(), f"ingest accepted {len(run.sent):,} of {notifications:,}"
            sending.result()
            outcome = await run.settle(FLOW_SECONDS)
        finally:
            sending.cancel()
        badges = await run.badges()
        given_up = await parked(stack.kafka_settings())
    print(f"{what} at {at_fault:,} deliveries; {len(run.sent):,} sent ({run.retried} retried)")
    print(f"{outcome.summary()}; {time.monotonic() - started:.0f} s from the first send")
    print(f"service logs: {stack.run_dir / 'logs'}")

    assert at_fault < len(outcome.owed) // 2, "the fault must land while deliveries still flow"
    assert not outcome.missing, outcome.summary()
    assert not outcome.foreign, outcome.summary()
    assert outcome.unattributed == 0, outcome.summary()
    assert outcome.refused == 0, outcome.summary()
    assert badges == run.owed_badges(), "each notification counted once in its user's badge"
    assert given_up == {}, "no stage parked or refused anything"


@pytest.mark.timeout(300)
async def test_a_killed_broker_of_three_loses_no_delivery(
    replicated: tuple[KafkaCluster, LocalStack],
) -> None:
    cluster, stack = replicated
    settings = stack.kafka_settings()
    wanted = wanted_topics(settings, all_topics())
    observed = await observe(settings, [spec.name for spec in wanted])
    assert settings.min_insync_replicas == 2
    assert differences(wanted, observed) == [], "every topic on 3 brokers, 2 in sync for a write"

    async def kill_the_busiest() -> str:
        victim, led = (await partition_leaders(settings)).most_common(1)[0]
        cluster.kill(victim)
        return f"broker {victim} (leader of {led} partitions) killed"

    await run_with_fault(stack, REPLICATED_RUN, kill_the_busiest)


@pytest.mark.timeout(240)
async def test_the_lone_broker_restarted_mid_run_loses_nothing(
    lone: tuple[KafkaCluster, LocalStack],
) -> None:
    cluster, stack = lone

    async def restart() -> str:
        cluster.kill(1)
        await asyncio.to_thread(cluster.restart, 1)
        return "the broker killed and restarted on its log"

    await run_with_fault(stack, LONE_RUN, restart)
