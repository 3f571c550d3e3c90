"""Session fixtures: the broker (embedded or Apache Kafka, per HERALD_TEST_BROKER) and PostgreSQL,
started once and torn down after."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from shared.embedded.brokers import LocalBroker, start_local_broker
from shared.embedded.postgres import EmbeddedPostgres, start_postgres
from tests.support.brokers import ON_KAFKA, TEST_BROKER


def pytest_report_header() -> str:
    return f"broker: {TEST_BROKER} (HERALD_TEST_BROKER)"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests only Apache Kafka can run are reported as skipped, with the reason, never hidden.

    Under pytest-xdist (``make test`` runs two workers), a module's tests stay on one worker, so
    its module fixtures start once; the end-to-end modules, each a whole stack of processes, all
    go to one worker, so two stacks never share the two cores."""
    skip = pytest.mark.skip(reason="needs Apache Kafka: run with make test-kafka")
    for item in items:
        if not ON_KAFKA and item.get_closest_marker("kafka_only"):
            item.add_marker(skip)
        whole_stack = "e2e" in item.path.parts
        group = "e2e" if whole_stack else str(item.path)
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def broker() -> Iterator[LocalBroker]:
    running = start_local_broker(TEST_BROKER)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module", autouse=True)
def _drop_module_topics(request: pytest.FixtureRequest) -> Iterator[None]:
    """On Kafka, delete the topics a module created once it ends: every test makes its own
    prefixed set, and thousands of idle partitions would slow one broker to a crawl."""
    if not ON_KAFKA or "integration" not in request.path.parts:
        yield
        return
    bootstrap = request.getfixturevalue("broker").bootstrap
    before = asyncio.run(_topics(bootstrap))
    yield
    asyncio.run(_delete_topics(bootstrap, keep=before))


async def _topics(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def _delete_topics(bootstrap: str, keep: set[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        doomed = [t for t in await admin.list_topics() if t not in keep and not t.startswith("__")]
        if doomed:
            await admin.delete_topics(doomed, timeout_ms=30_000)
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[EmbeddedPostgres]:
    running = start_postgres(prefix="herald-test-pg-")
    try:
        yield running
    finally:
        running.stop()
