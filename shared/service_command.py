"""What ``python -m services.<name>`` is asked to do: serve (no argument) or ``migrate``.

``migrate`` applies the service's own migrations and exits, so a deployment can migrate every
schema in one job before a rollout and see a failed migration there rather than in crash-looping
pods. Serving still migrates at start-up (under the advisory lock), so skipping the job is safe.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from shared.db import create_pool, migrate
from shared.logs import configure_logging
from shared.settings import DatabaseSettings, ObservabilitySettings

Command = Literal["serve", "migrate"]


def service_command(name: str, argv: Sequence[str] | None, *, migrates: bool) -> Command:
    """The command on the command line; a service without a database only serves."""
    parser = argparse.ArgumentParser(
        prog=f"python -m services.{name.replace('-', '_')}",
        description=f"Run {name} until SIGTERM"
        + (", or apply its database migrations and exit." if migrates else "."),
    )
    if migrates:
        parser.add_argument("command", nargs="?", choices=["serve", "migrate"], default="serve")
        return parser.parse_args(argv).command  # type: ignore[no-any-return]
    parser.parse_args(argv)
    return "serve"


class _MigrationSettings(DatabaseSettings, ObservabilitySettings):
    """All that migrating needs: the database and how to log."""


def run_migrations(name: str, schema: str, folder: Path) -> int:
    """Apply ``folder``'s pending migrations to ``schema``; the process exit code."""
    settings = _MigrationSettings()
    configure_logging(settings, name)
    log = logging.getLogger(name)

    async def apply() -> list[int]:
        pool = await create_pool(settings, schema)
        try:
            return await migrate(pool, schema, folder)
        finally:
            await pool.close()

    applied = asyncio.run(apply())
    log.info("schema %s up to date (%d migrations applied now)", schema, len(applied))
    return 0
