"""PostgreSQL access: one pool per service, bound to the service's own schema, the one way its
stores open a transaction, and its migrations.

Migrations are numbered SQL files in the service's ``migrations/`` folder, applied in order inside
one transaction each, under an advisory lock so replicas starting together apply them once.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from shared.settings import DatabaseSettings

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{3,})_[a-z0-9_]+\.sql$")
_SCHEMA_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


#: A connection taken from a pool or opened directly; store functions accept either.
Connection = asyncpg.Connection | PoolConnectionProxy


@asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[Connection]:
    """A connection of ``pool`` inside a transaction: it commits when the block ends and rolls
    back when the block raises. Every store and handler opens its transactions with this."""
    async with pool.acquire() as conn, conn.transaction():
        yield conn


class MigrationError(RuntimeError):
    """The migration folder or the recorded history is inconsistent."""


def migration_files(folder: Path) -> list[tuple[int, Path]]:
    """The folder's migrations sorted by number; refuses gaps in naming and duplicates."""
    found: dict[int, Path] = {}
    for path in folder.glob("*.sql"):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNN_description.sql")
        number = int(match.group(1))
        if number in found:
            raise MigrationError(
                f"two migrations numbered {number}: {found[number].name}, {path.name}"
            )
        found[number] = path
    return sorted(found.items())


async def create_pool(settings: DatabaseSettings, schema: str) -> asyncpg.Pool:
    """A pool whose connections see ``schema`` first on their search path."""
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    pool = await asyncpg.create_pool(
        settings.database_dsn.get_secret_value(),
        min_size=settings.database_pool_min,
        max_size=settings.database_pool_max,
        server_settings={"search_path": schema, "application_name": f"herald-{schema}"},
    )
    if pool is None:
        raise RuntimeError("asyncpg returned no pool")
    return pool


async def migrate(pool: asyncpg.Pool, schema: str, folder: Path) -> list[int]:
    """Apply the migrations of ``folder`` not yet applied to ``schema``; return their numbers."""
    files = migration_files(folder)
    applied_now: list[int] = []
    lock_key = int.from_bytes(hashlib.sha256(schema.encode()).digest()[:8], "big", signed=True)
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", lock_key)
        try:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            await conn.execute(
                f'CREATE TABLE IF NOT EXISTS "{schema}".schema_migrations ('
                " version integer PRIMARY KEY,"
                " name text NOT NULL,"
                " checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            rows = await conn.fetch(
                f'SELECT version, checksum FROM "{schema}".schema_migrations'  # noqa: S608 - schema name checked
            )
            done = {row["version"]: row["checksum"] for row in rows}
            for number, path in files:
                sql = path.read_text()
                checksum = hashlib.sha256(sql.encode()).hexdigest()
                if number in done:
                    if done[number] != checksum:
                        raise MigrationError(
                            f"{schema}: migration {path.name} changed after it was applied"
                        )
                    continue
                async with conn.transaction():
                    await conn.execute(f'SET LOCAL search_path TO "{schema}"')
                    await conn.execute(sql)
                    await conn.execute(
                        f'INSERT INTO "{schema}".schema_migrations (version, name, checksum)'  # noqa: S608
                        " VALUES ($1, $2, $3)",
                        number,
                        path.name,
                        checksum,
                    )
                applied_now.append(number)
                log.info("%s: applied migration %s", schema, path.name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)
    return applied_now
