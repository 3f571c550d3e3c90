"""Every SQL statement of badge-count. Callers hold one transaction per batch.

Each user's row in ``badges`` is locked before anything else of theirs is read, so two consumers
(briefly, during a rebalance) serialise on the user instead of both counting.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.badge_count.domain import BadgeState
from shared.db import Connection, transaction

UserKey = tuple[str, str]
DeliveryKey = tuple[str, str, uuid.UUID]


@dataclass(frozen=True)
class CountedRow:
    """What was decided when a notification came due."""

    badge: int | None
    seq: int | None
    suppressed: bool


@dataclass(frozen=True)
class DeliveryRow:
    """What to store for one notification that came due."""

    app_id: str
    user_id: str
    notification_id: uuid.UUID
    counts: bool
    badge: int | None
    seq: int | None
    suppressed: bool
    accepted_at: datetime
    due_at: datetime


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
        if row is None:
            raise RuntimeError("upserting a badge row returned nothing")
        return _state(row)

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

    async def lock_states(
        self, conn: Connection, users: Collection[UserKey], now: datetime
    ) -> dict[UserKey, BadgeState]:
        """Every user's state, creating missing ones at zero, locked in key order until commit."""
        ordered = sorted(users)
        rows = await conn.fetch(
            """
            INSERT INTO badges (app_id, user_id, updated_at)
            SELECT a, u, $3 FROM unnest($1::text[], $2::text[]) AS k(a, u) ORDER BY a, u
            ON CONFLICT (app_id, user_id) DO UPDATE SET tracked = badges.tracked
            RETURNING app_id, user_id, tracked, baseline, seq, baseline_set_at, read_up_to
            """,
            [user[0] for user in ordered],
            [user[1] for user in ordered],
            now,
        )
        return {(row["app_id"], row["user_id"]): _state(row) for row in rows}

    async def save_states(
        self, conn: Connection, states: Mapping[UserKey, BadgeState], now: datetime
    ) -> None:
        """Store the users' new states in one statement."""
        if not states:
            return
        users = list(states)
        await conn.execute(
            """
            UPDATE badges AS b SET tracked = s.t, baseline = s.bl, seq = s.q,
                                   baseline_set_at = s.bs, read_up_to = s.r, updated_at = $8
            FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::bigint[],
                        $6::timestamptz[], $7::timestamptz[]) AS s(a, u, t, bl, q, bs, r)
            WHERE b.app_id = s.a AND b.user_id = s.u
            """,
            [user[0] for user in users],
            [user[1] for user in users],
            [states[user].tracked for user in users],
            [states[user].baseline for user in users],
            [states[user].seq for user in users],
            [states[user].baseline_set_at for user in users],
            [states[user].read_up_to for user in users],
            now,
        )

    async def counted_of(
        self, conn: Connection, keys: Collection[DeliveryKey]
    ) -> dict[DeliveryKey, CountedRow]:
        """The decisions made when these notifications came due, for those that came before."""
        rows = await conn.fetch(
            "SELECT c.app_id, c.user_id, c.notification_id, c.badge, c.badge_seq, c.suppressed"
            " FROM counted AS c"
            " JOIN unnest($1::text[], $2::text[], $3::uuid[]) AS k(a, u, n)"
            " ON c.app_id = k.a AND c.user_id = k.u AND c.notification_id = k.n",
            *_columns(keys),
        )
        return {
            (row["app_id"], row["user_id"], row["notification_id"]): CountedRow(
                row["badge"], row["badge_seq"], row["suppressed"]
            )
            for row in rows
        }

    async def read_by_id_of(
        self, conn: Connection, keys: Collection[DeliveryKey]
    ) -> set[DeliveryKey]:
        """The notifications among ``keys`` a device named as read."""
        rows = await conn.fetch(
            "SELECT r.app_id, r.user_id, r.notification_id FROM reads_by_id AS r"
            " JOIN unnest($1::text[], $2::text[], $3::uuid[]) AS k(a, u, n)"
            " ON r.app_id = k.a AND r.user_id = k.u AND r.notification_id = k.n",
            *_columns(keys),
        )
        return {(row["app_id"], row["user_id"], row["notification_id"]) for row in rows}

    async def record_deliveries(
        self, conn: Connection, deliveries: Sequence[DeliveryRow], now: datetime
    ) -> None:
        """Insert what was decided for each notification that came due, in one statement."""
        if not deliveries:
            return
        await conn.execute(
            """
            INSERT INTO counted (app_id, user_id, notification_id, counts, badge, badge_seq,
                                 accepted_at, counted_at, suppressed, read_at, due_at)
            SELECT a, u, n, c, b, q, acc, $10::timestamptz, sup,
                   CASE WHEN sup THEN $10::timestamptz END, due
            FROM unnest($1::text[], $2::text[], $3::uuid[], $4::bool[], $5::int[],
                        $6::bigint[], $7::timestamptz[], $8::bool[], $9::timestamptz[])
              AS r(a, u, n, c, b, q, acc, sup, due)
            """,
            [d.app_id for d in deliveries],
            [d.user_id for d in deliveries],
            [d.notification_id for d in deliveries],
            [d.counts for d in deliveries],
            [d.badge for d in deliveries],
            [d.seq for d in deliveries],
            [d.accepted_at for d in deliveries],
            [d.suppressed for d in deliveries],
            [d.due_at for d in deliveries],
            now,
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
        return _state(row)

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

    async def prune(self, before: datetime, never_arrived_before: datetime, limit: int) -> int:
        """Forget, up to ``limit`` rows of each, read reports applied before ``before``, and
        notifications read before it (their badge is settled; unread ones stay); reads by id
        once their notification arrived, or when it never did by ``never_arrived_before``.
        Returns the most rows one table lost."""
        async with transaction(self.pool) as conn:
            reports = await conn.fetchval(
                "WITH gone AS (DELETE FROM applied_reports WHERE event_id IN ("
                " SELECT event_id FROM applied_reports WHERE applied_at < $1 LIMIT $2)"
                " RETURNING 1) SELECT count(*) FROM gone",
                before,
                limit,
            )
            reads = await conn.fetchval(
                "WITH gone AS (DELETE FROM reads_by_id WHERE (app_id, user_id, notification_id)"
                " IN (SELECT r.app_id, r.user_id, r.notification_id FROM reads_by_id AS r"
                " WHERE r.read_at < $1 AND (r.read_at < $2 OR EXISTS (SELECT 1 FROM counted AS c"
                " WHERE c.app_id = r.app_id AND c.user_id = r.user_id"
                " AND c.notification_id = r.notification_id)) LIMIT $3)"
                " RETURNING 1) SELECT count(*) FROM gone",
                before,
                never_arrived_before,
                limit,
            )
            counted = await conn.fetchval(
                "WITH gone AS (DELETE FROM counted WHERE (app_id, user_id, notification_id) IN ("
                " SELECT app_id, user_id, notification_id FROM counted WHERE read_at < $1"
                " LIMIT $2) RETURNING 1) SELECT count(*) FROM gone",
                before,
                limit,
            )
        return max(int(reports or 0), int(reads or 0), int(counted or 0))


def _state(row: asyncpg.Record) -> BadgeState:
    return BadgeState(
        tracked=row["tracked"],
        baseline=row["baseline"],
        seq=row["seq"],
        baseline_set_at=row["baseline_set_at"],
        read_up_to=row["read_up_to"],
    )


def _columns(keys: Collection[DeliveryKey]) -> tuple[list[str], list[str], list[uuid.UUID]]:
    ordered = list(keys)
    return [k[0] for k in ordered], [k[1] for k in ordered], [k[2] for k in ordered]
