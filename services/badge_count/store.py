"""Every SQL statement of badge-count. Callers hold one transaction per batch.

Each user's row in ``badges`` is locked before anything else of theirs is read, so two consumers
(briefly, during a rebalance) serialise on the user instead of both counting.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.badge_count.domain import BadgeState
from shared.db import Connection


@dataclass(frozen=True)
class CountedRow:
    """What was decided when a notification came due."""

    badge: int | None
    seq: int | None
    suppressed: bool


@dataclass(frozen=True)
class Unread:
    """One notification the user has not read."""

    notification_id: uuid.UUID
    accepted_at: datetime
    due_at: datetime


class BadgeStore:
    """Reads and writes badge-count's tables."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def lock_state(
        self, conn: Connection, app_id: str, user_id: str, now: datetime
    ) -> BadgeState:
        """The user's state, creating it at zero, with the row locked until commit."""
        row = await conn.fetchrow(
            """
            INSERT INTO badges (app_id, user_id, updated_at) VALUES ($1, $2, $3)
            ON CONFLICT (app_id, user_id) DO UPDATE SET tracked = badges.tracked
            RETURNING tracked, baseline, seq, baseline_set_at, read_up_to
            """,
            app_id,
            user_id,
            now,
        )
        assert row is not None
        return BadgeState(
            tracked=row["tracked"],
            baseline=row["baseline"],
            seq=row["seq"],
            baseline_set_at=row["baseline_set_at"],
            read_up_to=row["read_up_to"],
        )

    async def save_state(
        self, conn: Connection, app_id: str, user_id: str, state: BadgeState, now: datetime
    ) -> None:
        await conn.execute(
            """
            UPDATE badges SET tracked = $3, baseline = $4, seq = $5, baseline_set_at = $6,
                              read_up_to = $7, updated_at = $8
            WHERE app_id = $1 AND user_id = $2
            """,
            app_id,
            user_id,
            state.tracked,
            state.baseline,
            state.seq,
            state.baseline_set_at,
            state.read_up_to,
            now,
        )

    async def counted(
        self, conn: Connection, app_id: str, user_id: str, notification_id: uuid.UUID
    ) -> CountedRow | None:
        """The decision made when this notification came due, if it came due before."""
        row = await conn.fetchrow(
            "SELECT badge, badge_seq, suppressed FROM counted"
            " WHERE app_id = $1 AND user_id = $2 AND notification_id = $3",
            app_id,
            user_id,
            notification_id,
        )
        if row is None:
            return None
        return CountedRow(row["badge"], row["badge_seq"], row["suppressed"])

    async def was_read_by_id(
        self, conn: Connection, app_id: str, user_id: str, notification_id: uuid.UUID
    ) -> bool:
        return bool(
            await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM reads_by_id"
                " WHERE app_id = $1 AND user_id = $2 AND notification_id = $3)",
                app_id,
                user_id,
                notification_id,
            )
        )

    async def record_delivery(
        self,
        conn: Connection,
        *,
        app_id: str,
        user_id: str,
        notification_id: uuid.UUID,
        counts: bool,
        badge: int | None,
        seq: int | None,
        suppressed: bool,
        accepted_at: datetime,
        due_at: datetime,
        now: datetime,
    ) -> None:
        await conn.execute(
            """
            INSERT INTO counted (app_id, user_id, notification_id, counts, badge, badge_seq,
                                 accepted_at, counted_at, suppressed, read_at, due_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $9 THEN $8::timestamptz END, $10)
            """,
            app_id,
            user_id,
            notification_id,
            counts,
            badge,
            seq,
            accepted_at,
            now,
            suppressed,
            due_at,
        )

    async def read_all_tracked(
        self, conn: Connection, app_id: str, user_id: str, now: datetime
    ) -> None:
        """An explicit badge replaced the count: what was counted as unread is now read."""
        await conn.execute(
            "UPDATE counted SET read_at = $3"
            " WHERE app_id = $1 AND user_id = $2 AND counts AND read_at IS NULL",
            app_id,
            user_id,
            now,
        )

    async def claim_report(
        self, conn: Connection, event_id: uuid.UUID, app_id: str, user_id: str, now: datetime
    ) -> tuple[bool, bytes | None]:
        """Note a read report as applied; (False, change it produced) when it already was."""
        inserted = await conn.fetchval(
            "INSERT INTO applied_reports (event_id, app_id, user_id, applied_at)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING RETURNING true",
            event_id,
            app_id,
            user_id,
            now,
        )
        if inserted:
            return True, None
        change = await conn.fetchval(
            "SELECT change FROM applied_reports WHERE event_id = $1", event_id
        )
        return False, bytes(change) if change is not None else None

    async def remember_change(self, conn: Connection, event_id: uuid.UUID, change: bytes) -> None:
        await conn.execute(
            "UPDATE applied_reports SET change = $2 WHERE event_id = $1", event_id, change
        )

    async def read_by_ids(
        self,
        conn: Connection,
        app_id: str,
        user_id: str,
        notification_ids: Sequence[uuid.UUID],
        now: datetime,
    ) -> list[tuple[uuid.UUID, bool]]:
        """Mark these notifications read (remembering ids not delivered yet).

        Returns the delivered ones this made read, each with whether it was counted as unread.
        """
        if not notification_ids:
            return []
        await conn.execute(
            "INSERT INTO reads_by_id (app_id, user_id, notification_id, read_at)"
            " SELECT $1, $2, unnest($3::uuid[]), $4 ON CONFLICT DO NOTHING",
            app_id,
            user_id,
            list(notification_ids),
            now,
        )
        rows = await conn.fetch(
            "UPDATE counted SET read_at = $4"
            " WHERE app_id = $1 AND user_id = $2 AND notification_id = ANY($3::uuid[])"
            " AND read_at IS NULL RETURNING notification_id, counts",
            app_id,
            user_id,
            list(notification_ids),
            now,
        )
        return [(row["notification_id"], row["counts"]) for row in rows]

    async def read_up_to(
        self, conn: Connection, app_id: str, user_id: str, up_to: datetime, now: datetime
    ) -> list[tuple[uuid.UUID, bool]]:
        """Mark read everything that came due at or before ``up_to``."""
        rows = await conn.fetch(
            "UPDATE counted SET read_at = $4"
            " WHERE app_id = $1 AND user_id = $2 AND read_at IS NULL AND due_at <= $3"
            " RETURNING notification_id, counts",
            app_id,
            user_id,
            up_to,
            now,
        )
        return [(row["notification_id"], row["counts"]) for row in rows]

    async def badge_of(self, app_id: str, user_id: str) -> BadgeState:
        """The user's current state (zero for a user Herald has not seen)."""
        row = await self.pool.fetchrow(
            "SELECT tracked, baseline, seq, baseline_set_at, read_up_to FROM badges"
            " WHERE app_id = $1 AND user_id = $2",
            app_id,
            user_id,
        )
        if row is None:
            return BadgeState()
        return BadgeState(
            tracked=row["tracked"],
            baseline=row["baseline"],
            seq=row["seq"],
            baseline_set_at=row["baseline_set_at"],
            read_up_to=row["read_up_to"],
        )

    async def unread_of(self, app_id: str, user_id: str, limit: int) -> list[Unread]:
        """The user's unread notifications that count toward the badge, newest first."""
        rows = await self.pool.fetch(
            "SELECT notification_id, accepted_at, due_at FROM counted"
            " WHERE app_id = $1 AND user_id = $2 AND counts AND read_at IS NULL"
            " ORDER BY due_at DESC, notification_id LIMIT $3",
            app_id,
            user_id,
            limit,
        )
        return [Unread(row["notification_id"], row["accepted_at"], row["due_at"]) for row in rows]
