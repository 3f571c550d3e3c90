"""The SQL of the scheduler's copy of users' preferences (from the registry's users.preferences):
time zone and quiet hours for planning, category choices for release.

Kept apart from store.py, which holds the copies themselves; both take the caller's connection so
that planning and re-planning read and write in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime

import asyncpg

from contracts.users import QuietHours, UserPreferences
from services.scheduler.domain import Preferences
from shared.db import Connection

UserKey = tuple[str, str]


async def preferences_of(
    conn: Connection, users: Collection[UserKey]
) -> dict[UserKey, Preferences]:
    """The known preferences of these users (users with none are absent)."""
    rows = await conn.fetch(
        "SELECT app_id, user_id, time_zone, quiet_start, quiet_end FROM user_preferences"
        " WHERE (app_id, user_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
        [u[0] for u in users],
        [u[1] for u in users],
    )
    return {(row["app_id"], row["user_id"]): _preferences(row) for row in rows}


async def category_choices(
    conn: Connection, users: Collection[UserKey]
) -> dict[UserKey, dict[str, bool]]:
    """Each user's choices per category (users who made none are absent)."""
    unique = sorted(set(users))
    rows = await conn.fetch(
        "SELECT app_id, user_id, categories FROM user_preferences"
        " WHERE (app_id, user_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
        " AND categories <> '{}'",
        [u[0] for u in unique],
        [u[1] for u in unique],
    )
    return {(row["app_id"], row["user_id"]): json.loads(row["categories"]) for row in rows}


async def save_preferences(
    conn: Connection, latest: Sequence[UserPreferences], now: datetime
) -> list[UserKey]:
    """Keep each user's newest revision (one event per user); return users whose row changed."""
    rows = await conn.fetch(
        """
        INSERT INTO user_preferences AS p (app_id, user_id, revision, time_zone, quiet_start,
                                           quiet_end, categories, updated_at)
        SELECT a, u, r, z, s, e, k::jsonb, $8
        FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::time[], $6::time[],
                    $7::text[])
          AS c(a, u, r, z, s, e, k)
        ORDER BY a, u
        ON CONFLICT (app_id, user_id) DO UPDATE SET
            revision = EXCLUDED.revision, time_zone = EXCLUDED.time_zone,
            quiet_start = EXCLUDED.quiet_start, quiet_end = EXCLUDED.quiet_end,
            categories = EXCLUDED.categories, updated_at = EXCLUDED.updated_at
        WHERE EXCLUDED.revision >= p.revision
        RETURNING app_id, user_id
        """,
        [p.app_id for p in latest],
        [p.user_id for p in latest],
        [p.revision for p in latest],
        [p.time_zone for p in latest],
        [p.quiet_hours.start if p.quiet_hours else None for p in latest],
        [p.quiet_hours.end if p.quiet_hours else None for p in latest],
        [json.dumps(p.categories, sort_keys=True) for p in latest],
        now,
    )
    return [(row["app_id"], row["user_id"]) for row in rows]


def _preferences(row: asyncpg.Record) -> Preferences:
    quiet = None
    if row["quiet_start"] is not None and row["quiet_end"] is not None:
        quiet = QuietHours(start=row["quiet_start"], end=row["quiet_end"])
    return Preferences(time_zone=row["time_zone"], quiet_hours=quiet)
