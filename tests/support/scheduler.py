"""Schedulers running in the test's event loop, each test on a database of its own.

The release loop works on every held copy in its schema, so tests that shared one database would
release each other's copies; a fresh database per test keeps them apart.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from pydantic import SecretStr

from services.scheduler.app import SCHEMA, Scheduler, assemble
from services.scheduler.settings import SchedulerSettings
from shared.embedded.ports import free_port
from shared.settings import KafkaSettings
from tests.support.clock import FrozenClock
from tests.support.registry import eventually
from tests.support.services import running


async def fresh_database(server_dsn: str) -> str:
    """Create an empty database on the server of ``server_dsn``; return its DSN."""
    name = f"sched_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    parts = urlsplit(server_dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


def scheduler_settings(kafka: KafkaSettings, dsn: str, **overrides: Any) -> SchedulerSettings:
    """Settings for one replica: its own HTTP port, the test's topics and database."""
    values: dict[str, Any] = {
        **kafka.model_dump(),
        "database_dsn": SecretStr(dsn),
        "http_port": free_port(),
        "scheduler_poll_seconds": 0.2,
    }
    values.update(overrides)
    return SchedulerSettings(**values)


@asynccontextmanager
async def running_scheduler(
    kafka: KafkaSettings, dsn: str, clock: FrozenClock, **overrides: Any
) -> AsyncIterator[Scheduler]:
    """One scheduler replica, served until the block ends."""
    scheduler = await assemble(scheduler_settings(kafka, dsn, **overrides), clock)
    async with running(scheduler.parts):
        yield scheduler


async def copy_states(dsn: str) -> dict[str, str]:
    """Each stored copy's state, by the user it is for (tests give every copy its own user)."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": SCHEMA})
    try:
        rows = await conn.fetch("SELECT user_id, state FROM held")
    finally:
        await conn.close()
    return {row["user_id"]: row["state"] for row in rows}


async def preferences_known(dsn: str, user_id: str, revision: int) -> None:
    """Wait until the scheduler holds ``revision`` of the user's preferences."""

    async def check() -> bool:
        conn = await asyncpg.connect(dsn, server_settings={"search_path": SCHEMA})
        try:
            found = await conn.fetchval(
                "SELECT revision FROM user_preferences WHERE user_id = $1", user_id
            )
        finally:
            await conn.close()
        return bool(found == revision)

    await eventually(check)
