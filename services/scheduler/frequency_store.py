"""The SQL of frequency caps: the ledger of pushes counted per app, category and user.

Every statement takes the release transaction's connection, so counting a push commits (or rolls
back) together with the release that sends it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from services.scheduler.withholding import CapKey, Counted
from shared.db import Connection


async def lock_caps(conn: Connection, keys: Collection[CapKey]) -> None:
    """Serialise releases that count against the same caps until the transaction ends.

    Keys are locked in one order everywhere, so two replicas never wait on each other in a cycle.
    """
    for key in sorted(set(keys)):
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", "/".join(key))


async def counted_since(
    conn: Connection, keys: Collection[CapKey], since: datetime
) -> dict[CapKey, list[Counted]]:
    """The pushes counted against each cap after ``since``."""
    unique = sorted(set(keys))
    rows = await conn.fetch(
        "SELECT app_id, category_id, user_id, notification_id, counted_at FROM frequency_counts"
        " WHERE (app_id, category_id, user_id) IN"
        " (SELECT * FROM unnest($1::text[], $2::text[], $3::text[])) AND counted_at > $4",
        [k[0] for k in unique],
        [k[1] for k in unique],
        [k[2] for k in unique],
        since,
    )
    ledger: dict[CapKey, list[Counted]] = {}
    for row in rows:
        key = (row["app_id"], row["category_id"], row["user_id"])
        ledger.setdefault(key, []).append(Counted(row["notification_id"], row["counted_at"]))
    return ledger


async def count(conn: Connection, pushes: Sequence[tuple[CapKey, Counted]]) -> None:
    """Record pushes against their caps; a push already counted stays counted once."""
    if not pushes:
        return
    await conn.execute(
        "INSERT INTO frequency_counts (app_id, category_id, user_id, notification_id, counted_at)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[], $5::timestamptz[])"
        " ON CONFLICT DO NOTHING",
        [key[0] for key, _ in pushes],
        [key[1] for key, _ in pushes],
        [key[2] for key, _ in pushes],
        [push.notification_id for _, push in pushes],
        [push.counted_at for _, push in pushes],
    )


async def forget_before(conn: Connection, before: datetime) -> None:
    """Drop counts older than the longest window: no cap can see them any more."""
    await conn.execute("DELETE FROM frequency_counts WHERE counted_at < $1", before)
