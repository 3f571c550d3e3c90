"""Token hygiene on the real PostgreSQL with an injected clock: unseen devices stop receiving, a
registration keeps a device fresh, inactive rows are deleted later, in bounded batches."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from pydantic import SecretStr

from services.registry.app import MIGRATIONS
from services.registry.devices.domain import STALE, UNREGISTERED, Registration
from services.registry.devices.hygiene import token_hygiene
from services.registry.devices.store import DeviceStore
from shared.db import create_pool, migrate
from shared.embedded.postgres import EmbeddedPostgres
from shared.settings import DatabaseSettings
from tests.support.clock import FrozenClock
from tests.support.factories import unique
from tests.support.registry import fcm_token

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def pool(postgres: EmbeddedPostgres) -> AsyncIterator[asyncpg.Pool]:
    """The registry's tables in a schema of this module's own: the job sweeps the whole table."""
    schema = f"registry_hygiene_{uuid.uuid4().hex[:8]}"
    created = await create_pool(DatabaseSettings(database_dsn=SecretStr(postgres.dsn)), schema)
    await migrate(created, schema, MIGRATIONS)
    yield created
    await created.close()


async def test_unseen_devices_go_stale_then_their_rows_are_deleted(pool: asyncpg.Pool) -> None:
    clock = FrozenClock()
    store = DeviceStore(pool)
    app = unique("hygiene")
    stale, delete = token_hygiene(
        store,
        clock,
        stale_after=timedelta(days=30),
        delete_after=timedelta(days=90),
        interval=timedelta(hours=1),
    )
    stale.batch = delete.batch = 2

    async def register(user: str, token: str) -> uuid.UUID:
        registered = await store.register(Registration(app, user, "fcm", token), clock.now())
        return registered.device.device_id

    forgotten_tokens = [fcm_token() for _ in range(5)]
    forgotten = [await register(f"u{i}", token) for i, token in enumerate(forgotten_tokens)]
    refreshed_token = fcm_token()
    refreshed = await register("fresh", refreshed_token)
    logged_out = await register("out", fcm_token())
    clock.advance(days=20)
    await register("fresh", refreshed_token)
    await store.unregister(app, logged_out, UNREGISTERED, clock.now())
    clock.advance(days=11)

    assert await stale.prune_once() == 5
    devices = {d.device_id: d for d in [await store.get(app, i) for i in forgotten] if d}
    assert all(not d.active and d.deactivation_reason == STALE for d in devices.values())
    assert all(d.deactivated_at == clock.now() for d in devices.values())
    fresh = await store.get(app, refreshed)
    assert fresh is not None
    assert fresh.active

    clock.advance(days=80)
    assert await delete.prune_once() == 1
    assert await store.get(app, logged_out) is None
    assert all([await store.get(app, i) for i in forgotten])

    clock.advance(days=11)
    assert await delete.prune_once() == 5
    assert not any([await store.get(app, i) for i in forgotten])
    again = await store.register(Registration(app, "u0", "fcm", forgotten_tokens[0]), clock.now())
    assert again.created
    assert again.device.active
