"""What reading one notification's counts costs when it reached a million users: ``python -m
tests.benchmarks.tracker_counts [--users N] [--calls C]``.

Starts the embedded PostgreSQL, writes N users' tallies for one notification and its running
total, then times C reads of the total (``TrackerStore.counts_of``) against C sums over the users'
tallies (how the tracker answered before migration 004), and checks both give the same counts.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
from pydantic import SecretStr

from services.tracker.app import MIGRATIONS, SCHEMA
from services.tracker.domain import Tally
from services.tracker.store import NUMBERS, TrackerStore
from shared.db import create_pool, migrate, transaction
from shared.embedded.postgres import start_postgres
from shared.settings import DatabaseSettings

APP = "benchapp"


async def summed_counts(pool: asyncpg.Pool, notification_id: uuid.UUID) -> Tally:
    """The counts as a sum over every user's tally, reasons included."""
    sums = ", ".join(f"coalesce(sum({name}), 0)::integer AS {name}" for name in NUMBERS)
    async with transaction(pool) as conn:
        numbers = await conn.fetchrow(
            f"SELECT count(*)::integer AS users, {sums} FROM user_tallies"  # noqa: S608 - names from Tally
            " WHERE app_id = $1 AND notification_id = $2",
            APP,
            notification_id,
        )
        reasons = {
            kind: await conn.fetch(
                f"SELECT r.key, sum(r.value::integer)::integer AS n FROM user_tallies AS t,"  # noqa: S608 - fixed column names
                f" jsonb_each_text(t.{kind}) AS r WHERE t.app_id = $1 AND t.notification_id = $2"
                " GROUP BY r.key",
                APP,
                notification_id,
            )
            for kind in ("failed", "withheld")
        }
    assert numbers is not None
    return Tally(
        **dict(numbers.items()),
        failed=dict(sorted((row["key"], row["n"]) for row in reasons["failed"])),
        withheld=dict(sorted((row["key"], row["n"]) for row in reasons["withheld"])),
    )


async def fill(pool: asyncpg.Pool, notification_id: uuid.UUID, users: int) -> None:
    """Users' tallies (one in ten failed on a device, one in twenty withheld), then the total."""
    zeros = ", ".join("0" for name in NUMBERS if name not in {"settled", "sent", "delivered"})
    others = ", ".join(name for name in NUMBERS if name not in {"settled", "sent", "delivered"})
    await pool.execute(
        f"INSERT INTO user_tallies (app_id, notification_id, user_id, settled, sent,"  # noqa: S608 - names from Tally
        f" delivered, {others}, failed, withheld) SELECT $1, $2, 'user-' || i, 1, 2,"
        f" 2 - (i % 10 = 0)::int, {zeros},"
        " CASE WHEN i % 10 = 0 THEN $4::jsonb ELSE '{}' END,"
        " CASE WHEN i % 20 = 0 THEN $5::jsonb ELSE '{}' END"
        " FROM generate_series(1, $3) AS i",
        APP,
        notification_id,
        users,
        '{"Unregistered": 1}',
        '{"quiet_hours": 1}',
    )
    await pool.execute("ANALYZE user_tallies")
    total = await summed_counts(pool, notification_id)
    async with transaction(pool) as conn:
        await TrackerStore(pool).add_to_totals(conn, {(APP, notification_id): total})


async def median_ms(calls: int, read: Callable[[], Awaitable[Tally]]) -> tuple[float, Tally]:
    timings, answer = [], Tally()
    for _ in range(calls):
        started = time.perf_counter()
        answer = await read()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000, answer


async def measure(dsn: str, users: int, calls: int) -> None:
    pool = await create_pool(DatabaseSettings(database_dsn=SecretStr(dsn)), SCHEMA)
    try:
        await migrate(pool, SCHEMA, MIGRATIONS)
        notification_id = uuid.uuid4()
        await fill(pool, notification_id, users)
        store = TrackerStore(pool)
        summed, by_sum = await median_ms(calls, lambda: summed_counts(pool, notification_id))
        total, by_total = await median_ms(calls, lambda: store.counts_of(APP, notification_id))
    finally:
        await pool.close()
    assert by_total == by_sum, (by_total, by_sum)
    sys.stdout.write(
        f"counts of one notification with {users:,} users, median of {calls} calls:\n"
        f"  summing user_tallies: {summed:9.2f} ms\n"
        f"  notification_totals:  {total:9.2f} ms\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    postgres = start_postgres(prefix="herald-bench-pg-")
    try:
        asyncio.run(measure(postgres.dsn, args.users, args.calls))
    finally:
        postgres.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
