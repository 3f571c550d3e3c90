"""Fixtures several integration modules share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from pydantic import SecretStr

from services.badge_count.app import MIGRATIONS, SCHEMA
from shared.db import create_pool, migrate
from shared.embedded.postgres import EmbeddedPostgres
from shared.settings import DatabaseSettings


@pytest.fixture(scope="module")
async def badge_pool(postgres: EmbeddedPostgres) -> AsyncIterator[asyncpg.Pool]:
    """A pool on badge-count's schema, migrated, for tests that drive its handlers directly."""
    created = await create_pool(DatabaseSettings(database_dsn=SecretStr(postgres.dsn)), SCHEMA)
    await migrate(created, SCHEMA, MIGRATIONS)
    yield created
    await created.close()
