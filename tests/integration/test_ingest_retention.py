"""Ingest forgets idempotency keys after their retention, on its injected clock, and keeps a
submission not yet published (a retry must still publish it)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from pydantic import SecretStr

from services.ingest.app import MIGRATIONS, SCHEMA
from services.ingest.store import SubmissionStore
from shared.db import create_pool, migrate
from shared.embedded.postgres import EmbeddedPostgres
from shared.retention import Pruner
from shared.settings import DatabaseSettings
from tests.support.clock import FrozenClock
from tests.support.factories import unique

pytestmark = pytest.mark.integration


@pytest.fixture
async def store(postgres: EmbeddedPostgres) -> AsyncIterator[SubmissionStore]:
    pool: asyncpg.Pool = await create_pool(
        DatabaseSettings(database_dsn=SecretStr(postgres.dsn)), SCHEMA
    )
    await migrate(pool, SCHEMA, MIGRATIONS)
    yield SubmissionStore(pool)
    await pool.close()


async def test_idempotency_keys_are_forgotten_after_the_retention(store: SubmissionStore) -> None:
    clock = FrozenClock()
    pruner = Pruner("idempotency keys", store.prune, clock, timedelta(days=400))
    app = unique("app")

    async def submit(*, published: bool = True) -> uuid.UUID:
        key, notification = unique("key"), uuid.uuid4()
        await store.claim(
            app_id=app,
            idempotency_key=key,
            fingerprint=b"f",
            notification_id=notification,
            recipients=1,
            source="http",
            now=clock.now(),
        )
        if published:
            await store.mark_published(app, key, clock.now())
        return notification

    old, unpublished = await submit(), await submit(published=False)
    clock.advance(days=100)
    recent = await submit()
    clock.advance(days=301)

    await pruner.prune_once()

    assert not await store.knows(app, old)
    assert await store.knows(app, unpublished)
    assert await store.knows(app, recent)
