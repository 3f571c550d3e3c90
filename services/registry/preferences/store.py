"""Every SQL statement about users' delivery preferences (time zone, locale, quiet hours,
opt-outs)."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from contracts.platforms import Platform
from contracts.users import QuietHours
from services.registry.preferences.domain import FanOutChoices, StoredPreferences
from shared.db import Connection


def _stored(row: asyncpg.Record) -> StoredPreferences:
    quiet = None
    if row["quiet_start"] is not None and row["quiet_end"] is not None:
        quiet = QuietHours(start=row["quiet_start"], end=row["quiet_end"])
    return StoredPreferences(
        app_id=row["app_id"],
        user_id=row["user_id"],
        revision=row["revision"],
        time_zone=row["time_zone"],
        quiet_hours=quiet,
        updated_at=row["updated_at"],
        categories=json.loads(row["categories"]),
        channels=json.loads(row["channels"]),
        locale=row["locale"],
    )


@dataclass(frozen=True)
class Choices:
    """A user's opt-outs and opt-ins: per category and per platform (false: none of it)."""

    categories: Mapping[str, bool] = field(default_factory=dict)
    channels: Mapping[Platform, bool] = field(default_factory=dict)
    locale: str | None = None


class PreferenceStore:
    """Reads and writes ``registry.user_preferences``."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def replace(
        self,
        conn: Connection,
        app_id: str,
        user_id: str,
        time_zone: str | None,
        quiet_hours: QuietHours | None,
        choices: Choices,
        now: datetime,
    ) -> StoredPreferences:
        """Replace a user's preferences under the next revision; the row stays locked until the
        caller's transaction ends, so concurrent changes of one user get ordered revisions."""
        row = await conn.fetchrow(
            """
            INSERT INTO user_preferences AS p (app_id, user_id, revision, time_zone, quiet_start,
                                               quiet_end, updated_at, categories, channels, locale)
            VALUES ($1, $2, 1, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9)
            ON CONFLICT (app_id, user_id) DO UPDATE SET
                revision = p.revision + 1, time_zone = EXCLUDED.time_zone,
                quiet_start = EXCLUDED.quiet_start, quiet_end = EXCLUDED.quiet_end,
                categories = EXCLUDED.categories, channels = EXCLUDED.channels,
                locale = EXCLUDED.locale, updated_at = EXCLUDED.updated_at,
                zone_from_device = false
            RETURNING app_id, user_id, revision, time_zone, quiet_start, quiet_end, updated_at,
                      categories, channels, locale
            """,
            app_id,
            user_id,
            time_zone,
            quiet_hours.start if quiet_hours else None,
            quiet_hours.end if quiet_hours else None,
            now,
            json.dumps(choices.categories, sort_keys=True),
            json.dumps(choices.channels, sort_keys=True),
            choices.locale,
        )
        if row is None:
            raise RuntimeError("preferences upsert returned no row")
        return _stored(row)

    async def adopt_device_zone(
        self, conn: Connection, app_id: str, user_id: str, time_zone: str, now: datetime
    ) -> StoredPreferences | None:
        """Give the user their device's time zone unless they stated one; None when nothing
        changed (the zone was stated, or is already this one)."""
        row = await conn.fetchrow(
            """
            INSERT INTO user_preferences AS p (app_id, user_id, revision, time_zone, updated_at,
                                               zone_from_device)
            VALUES ($1, $2, 1, $3, $4, true)
            ON CONFLICT (app_id, user_id) DO UPDATE SET
                revision = p.revision + 1, time_zone = EXCLUDED.time_zone,
                updated_at = EXCLUDED.updated_at, zone_from_device = true
            WHERE (p.time_zone IS NULL OR p.zone_from_device)
              AND p.time_zone IS DISTINCT FROM EXCLUDED.time_zone
            RETURNING app_id, user_id, revision, time_zone, quiet_start, quiet_end, updated_at,
                      categories, channels, locale
            """,
            app_id,
            user_id,
            time_zone,
            now,
        )
        return _stored(row) if row is not None else None

    async def fan_out_choices_of(
        self, users: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], FanOutChoices]:
        """The platform choices and stated locale, by (app, user), of those of these users who
        made any."""
        unique = sorted(set(users))
        rows = await self.pool.fetch(
            "SELECT app_id, user_id, channels, locale FROM user_preferences"
            " WHERE (app_id, user_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
            " AND (channels <> '{}' OR locale IS NOT NULL)",
            [u[0] for u in unique],
            [u[1] for u in unique],
        )
        return {
            (row["app_id"], row["user_id"]): FanOutChoices(
                json.loads(row["channels"]), row["locale"]
            )
            for row in rows
        }

    async def get(self, app_id: str, user_id: str) -> StoredPreferences | None:
        """A user's preferences, or None when they never set any."""
        row = await self.pool.fetchrow(
            "SELECT app_id, user_id, revision, time_zone, quiet_start, quiet_end, updated_at,"
            " categories, channels, locale FROM user_preferences"
            " WHERE app_id = $1 AND user_id = $2",
            app_id,
            user_id,
        )
        return _stored(row) if row is not None else None
