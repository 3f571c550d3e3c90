"""/readyz against real outages: a service's own broker and PostgreSQL are stopped and started.

Each test starts its own broker (of the session's kind) and its own PostgreSQL, never the session
ones, since it takes them away. The probes run at their production settings, so the bounds below
are what a deployment gets.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from shared.db import create_pool
from shared.embedded.brokers import LocalBroker, start_local_broker
from shared.embedded.ports import free_port
from shared.embedded.postgres import EmbeddedPostgres, start_postgres
from shared.health import DatabaseProbe
from shared.http import create_http_app
from shared.kafka import create_bus
from shared.runtime import ServiceParts
from shared.settings import DatabaseSettings, HttpSettings
from tests.support.brokers import TEST_BROKER
from tests.support.clock import FrozenClock
from tests.support.kafka import kafka_settings_for_test
from tests.support.outages import halt_broker, resume_broker
from tests.support.scheduler import running_scheduler
from tests.support.services import running

pytestmark = pytest.mark.integration

#: Longest an outage may go unnoticed: one probe interval plus one probe timeout, with slack for
#: a busy machine.
NOTICED_WITHIN = 5.0
#: Longest /readyz may stay 503 once the dependency takes connections again.
RECOVERED_WITHIN = 10.0


@pytest.fixture
def own_broker() -> Iterator[LocalBroker]:
    broker = start_local_broker(TEST_BROKER)
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def own_postgres() -> Iterator[EmbeddedPostgres]:
    server = start_postgres(prefix="herald-test-readiness-pg-")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def pool(own_postgres: EmbeddedPostgres) -> AsyncIterator[asyncpg.Pool]:
    settings = DatabaseSettings(database_dsn=SecretStr(own_postgres.dsn))
    created = await create_pool(settings, "readiness_test")
    try:
        yield created
    finally:
        await created.close()


async def readyz_until(url: str, status: int, within: float) -> tuple[float, dict[str, Any]]:
    """Poll /readyz until it answers ``status``; return how long that took and the body."""
    started = time.monotonic()
    last: dict[str, Any] = {}
    async with httpx.AsyncClient(timeout=1.0) as http:
        while time.monotonic() - started < within:
            answer = await http.get(f"{url}/readyz")
            last = answer.json()
            if answer.status_code == status:
                return time.monotonic() - started, last
            await asyncio.sleep(0.05)
    pytest.fail(f"/readyz not {status} within {within} s; last answer {last}")


async def test_readyz_follows_the_broker_going_away_and_coming_back(
    own_broker: LocalBroker, pool: asyncpg.Pool
) -> None:
    kafka = kafka_settings_for_test(own_broker.bootstrap)
    port = free_port()
    parts = ServiceParts(
        name="readiness-test",
        bus=create_bus(kafka, client_id="readiness-test"),
        http_app=create_http_app(title="t", description="t"),
        http=HttpSettings(http_port=port),
        probes=[DatabaseProbe(pool)],
    )
    url = f"http://127.0.0.1:{port}"

    async with running(parts):
        await readyz_until(url, 200, within=NOTICED_WITHIN)

        await asyncio.to_thread(halt_broker, own_broker)
        noticed, down = await readyz_until(url, 503, within=NOTICED_WITHIN)
        async with httpx.AsyncClient() as http:
            live = await http.get(f"{url}/healthz")

        await asyncio.to_thread(resume_broker, own_broker)
        recovered, up = await readyz_until(url, 200, within=RECOVERED_WITHIN)

    print(f"{TEST_BROKER} broker: 503 after {noticed:.2f} s, 200 again {recovered:.2f} s after")
    assert down["down"] == ["broker"]
    assert down["dependencies"]["broker"]["reason"].startswith("no answer within")
    assert down["dependencies"]["database"]["up"] is True
    assert live.status_code == 200
    assert up["down"] == []


async def test_a_service_reports_its_database_down_and_recovers_by_itself(
    own_broker: LocalBroker, own_postgres: EmbeddedPostgres
) -> None:
    kafka = kafka_settings_for_test(own_broker.bootstrap)

    async with running_scheduler(kafka, own_postgres.dsn, FrozenClock()) as scheduler:
        url = f"http://127.0.0.1:{scheduler.parts.http.http_port}"
        await readyz_until(url, 200, within=NOTICED_WITHIN)

        await asyncio.to_thread(own_postgres.halt)
        noticed, down = await readyz_until(url, 503, within=NOTICED_WITHIN)
        async with httpx.AsyncClient() as http:
            live = await http.get(f"{url}/healthz")

        await asyncio.to_thread(own_postgres.resume)
        recovered, up = await readyz_until(url, 200, within=RECOVERED_WITHIN)

    print(f"PostgreSQL: 503 after {noticed:.2f} s, 200 again {recovered:.2f} s after")
    assert down["down"] == ["database"]
    assert down["dependencies"]["broker"]["up"] is True
    assert live.status_code == 200
    assert up["down"] == []
