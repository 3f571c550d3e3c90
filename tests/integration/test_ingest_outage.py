"""Ingest while PostgreSQL shuts down under it: requests in flight are answered 503 with
Retry-After (never 500), each with one log line, and sends succeed again once it is back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from pydantic import SecretStr

from services.ingest.app import build
from services.ingest.settings import IngestSettings
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.ports import free_port
from shared.embedded.postgres import EmbeddedPostgres, start_postgres
from shared.secrets import new_secrets_key
from shared.tenancy.auth import key_digest, new_api_key
from tests.support.clock import FrozenClock
from tests.support.factories import unique
from tests.support.kafka import kafka_settings_for_test
from tests.support.services import running

pytestmark = pytest.mark.integration


@pytest.fixture
def own_postgres() -> Iterator[EmbeddedPostgres]:
    """A server of this test's own: halting the session's would fail its neighbours."""
    server = start_postgres(prefix="herald-test-outage-")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def client(
    broker: EmbeddedBroker, own_postgres: EmbeddedPostgres
) -> AsyncIterator[httpx.AsyncClient]:
    key = new_api_key()
    settings = IngestSettings(
        **kafka_settings_for_test(broker.bootstrap).model_dump(),
        database_dsn=SecretStr(own_postgres.dsn),
        secrets_keys=[SecretStr(new_secrets_key())],
        http_port=free_port(),
        api_keys={"outage": [key_digest(key)]},
        # eight senders answered at once by 503s outrun the key's rate limit; 429 is not this test's
        rate_limit_key_per_second=1_000_000,
        rate_limit_key_burst=1_000_000,
    )
    async with (
        running(await build(settings, FrozenClock())),
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{settings.http_port}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        ) as http,
    ):
        yield http


def send() -> dict[str, object]:
    return {
        "idempotency_key": unique("key"),
        "audience": {"user_ids": ["u1"]},
        "content": {"title": "Hi"},
    }


async def back_again(client: httpx.AsyncClient, attempts: int = 150) -> httpx.Response:
    """The first answer after the outage that is not a 503 (the pool reconnects on demand)."""
    for _ in range(attempts):
        answer = await client.post("/v1/notifications", json=send())
        if answer.status_code != 503:
            return answer
        await asyncio.sleep(0.2)
    raise AssertionError(f"still unavailable after {attempts} attempts")


async def test_requests_in_flight_when_postgres_stops_get_503_with_one_log_line(
    client: httpx.AsyncClient, own_postgres: EmbeddedPostgres, caplog: pytest.LogCaptureFixture
) -> None:
    stop_sending = asyncio.Event()
    answers: list[httpx.Response] = []

    async def keep_sending() -> None:
        while not stop_sending.is_set():
            answers.append(await client.post("/v1/notifications", json=send()))

    senders = [asyncio.create_task(keep_sending()) for _ in range(8)]
    caplog.set_level(logging.WARNING)
    await asyncio.sleep(0.5)
    await asyncio.to_thread(own_postgres.halt)
    await asyncio.sleep(1.0)
    stop_sending.set()
    await asyncio.gather(*senders)
    await asyncio.to_thread(own_postgres.resume)
    after = await back_again(client)

    statuses = {a.status_code for a in answers}
    unavailable = [a for a in answers if a.status_code == 503]
    assert statuses <= {202, 503}, {a.text for a in answers if a.status_code not in (202, 503)}
    assert unavailable, "no request met the outage"
    assert all(a.headers["Retry-After"] == "1" for a in unavailable)
    assert {a.json()["error"]["code"] for a in unavailable} == {"unavailable"}
    assert after.status_code == 202
    ours = [r for r in caplog.records if r.name.startswith(("uvicorn", "shared", "services"))]
    assert not [r for r in ours if r.exc_info], "a 503 was logged with its traceback"
    assert [r.getMessage() for r in ours if "unavailable" in r.getMessage()]
