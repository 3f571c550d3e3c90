"""What recording trace steps costs the tracker, its handler alone: ``python -m
tests.benchmarks.tracker_steps [--users N] [--notifications K] [--wave W] [--batch B]``.

The pipeline benchmark charges a process the CPU it spent while a phase's deliveries were under
way, so a tracker running behind carries part of its work past the window and its figure moves
with how busy the machine was. This one feeds the same steps to ``TraceHandler`` in batches of a
fixed size against the embedded PostgreSQL and reports CPU per step of this process and of
PostgreSQL: steps shaped like a broadcast (per user released, counted, fanned out to three
devices, then one send per device), W users at a time, for K notifications of N users.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr

from contracts.push import Platform
from contracts.trace import NotificationTraced, Stage
from services.tracker.app import MIGRATIONS, SCHEMA
from services.tracker.handlers import TraceHandler
from services.tracker.store import TrackerStore
from shared.db import create_pool, migrate
from shared.embedded.postgres import EmbeddedPostgres, start_postgres
from shared.kafka import Received
from shared.settings import DatabaseSettings
from tests.benchmarks.pipeline.processes import Processes, postmaster_pid

APP = "benchapp"
T0 = datetime(2026, 5, 1, tzinfo=UTC)
PLATFORMS: tuple[Platform, ...] = ("fcm", "apns", "webpush")


def broadcast_steps(users: int, wave: int) -> list[NotificationTraced]:
    """One notification's steps in the order its stages report them, ``wave`` users at a time."""
    notification_id = uuid.uuid4()

    def step(stage: Stage, second: int, user: str, **fields: Any) -> NotificationTraced:
        return NotificationTraced.step(
            stage,
            app_id=APP,
            notification_id=notification_id,
            occurred_at=T0 + timedelta(seconds=second),
            user_id=user,
            **fields,
        )

    steps: list[NotificationTraced] = []
    for start in range(0, users, wave):
        names = [f"user-{index}" for index in range(start, min(users, start + wave))]
        steps += [step("released", 1, user) for user in names]
        steps += [step("counted", 2, user, badge=1) for user in names]
        steps += [
            step("fanned_out", 3, user, devices=dict.fromkeys(PLATFORMS, 1)) for user in names
        ]
        for platform in PLATFORMS:
            steps += [
                step(
                    "sent",
                    4,
                    user,
                    device_id=uuid.uuid4(),
                    platform=platform,
                    outcome="delivered",
                    attempt=1,
                )
                for user in names
            ]
    return steps


async def measure(postgres: EmbeddedPostgres, steps: list[NotificationTraced], size: int) -> str:
    pool = await create_pool(DatabaseSettings(database_dsn=SecretStr(postgres.dsn)), SCHEMA)
    try:
        await migrate(pool, SCHEMA, MIGRATIONS)
        handler = TraceHandler(pool, TrackerStore(pool))
        batches = [
            [Received(step, "trace", 0, 0, None, b"") for step in steps[i : i + size]]
            for i in range(0, len(steps), size)
        ]
        database = Processes(
            {"postgres": postmaster_pid(postgres.data_dir / "pgdata")}, frozenset({"postgres"})
        )
        await handler(batches[0])  # warm: the pool's connections, statement caches
        database_before, ours_before = database.usage()["postgres"].cpu_seconds, time.process_time()
        for batch in batches[1:]:
            await handler(batch)
        database_cpu = database.usage()["postgres"].cpu_seconds - database_before
        ours = time.process_time() - ours_before
    finally:
        await pool.close()
    counted = sum(len(batch) for batch in batches[1:])
    return (
        f"{counted:,} steps in batches of {size}, CPU per step:"
        f" tracker {ours / counted * 1e6:.1f} us,"
        f" PostgreSQL {database_cpu / counted * 1e6:.1f} us\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--notifications", type=int, default=2)
    parser.add_argument("--wave", type=int, default=300)
    parser.add_argument("--batch", type=int, default=250)
    args = parser.parse_args()
    steps = [
        step for _ in range(args.notifications) for step in broadcast_steps(args.users, args.wave)
    ]
    postgres = start_postgres(prefix="herald-bench-pg-")
    try:
        sys.stdout.write(asyncio.run(measure(postgres, steps, args.batch)))
    finally:
        postgres.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
