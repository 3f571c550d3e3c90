"""Every SQL statement of badge-count."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.badge_count.domain import BadgeState, after_new_notification
from shared.db import Connection


@dataclass(frozen=True)
class CountedBadge:
    """The badge a notification carries (None when it leaves the badge alone)."""

    badge: int | None
    seq: int | None


class BadgeStore:
    """Reads and writes ``badge_count.badges`` and ``badge_count.counted``."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def count(
        self,
        conn: Connection,
        *,
        app_id: str,
        user_id: str,
        notification_id: uuid.UUID,
        counts: bool,
        accepted_at: datetime,
        now: datetime,
    ) -> CountedBadge:
        """Count a notification once; a repeat returns the badge the first count gave it.

        The user's badge row is locked first, so concurrent consumers (during a rebalance)
        serialise on the user instead of both counting.
        """
        row = await conn.fetchrow(
            """
            INSERT INTO badges (app_id, user_id, updated_at) VALUES ($1, $2, $3)
            ON CONFLICT (app_id, user_id) DO UPDATE SET unread = badges.unread
            RETURNING unread, seq
            """,
            app_id,
            user_id,
            now,
        )
        assert row is not None
        seen = await conn.fetchrow(
            "SELECT badge, badge_seq FROM counted"
            " WHERE app_id = $1 AND user_id = $2 AND notification_id = $3",
            app_id,
            user_id,
            notification_id,
        )
        if seen is not None:
            return CountedBadge(seen["badge"], seen["badge_seq"])
        state = after_new_notification(BadgeState(row["unread"], row["seq"]), counts)
        if counts:
            await conn.execute(
                "UPDATE badges SET unread = $3, seq = $4, updated_at = $5"
                " WHERE app_id = $1 AND user_id = $2",
                app_id,
                user_id,
                state.unread,
                state.seq,
                now,
            )
        result = CountedBadge(state.unread, state.seq) if counts else CountedBadge(None, None)
        await conn.execute(
            "INSERT INTO counted (app_id, user_id, notification_id, counts, badge, badge_seq,"
            " accepted_at, counted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            app_id,
            user_id,
            notification_id,
            counts,
            result.badge,
            result.seq,
            accepted_at,
            now,
        )
        return result
