"""Every SQL statement of badge sync: pending merged syncs, the last sequence sent, wake budgets."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

import asyncpg

from services.registry.reads.domain import PendingSync, WakeBudget
from shared.db import Connection

_PENDING_COLUMNS = (
    "app_id, user_id, badge, badge_seq, read_ids, read_up_to, all_read, only_reporter,"
    " mixed_reporters, first_change_at, flush_at"
)


def _pending(row: asyncpg.Record) -> PendingSync:
    return PendingSync(
        app_id=row["app_id"],
        user_id=row["user_id"],
        badge=row["badge"],
        badge_seq=row["badge_seq"],
        read_ids=tuple(row["read_ids"]),
        read_up_to=row["read_up_to"],
        all_read=row["all_read"],
        only_reporter=row["only_reporter"],
        mixed_reporters=row["mixed_reporters"],
        first_change_at=row["first_change_at"],
        flush_at=row["flush_at"],
    )


class SyncStore:
    """The registry's sync tables; every method runs on the caller's transaction."""

    async def pending(self, conn: Connection, app_id: str, user_id: str) -> PendingSync | None:
        row = await conn.fetchrow(
            f"SELECT {_PENDING_COLUMNS} FROM pending_syncs"  # noqa: S608 - constant columns
            " WHERE app_id = $1 AND user_id = $2 FOR UPDATE",
            app_id,
            user_id,
        )
        return _pending(row) if row is not None else None

    async def last_sent_seq(self, conn: Connection, app_id: str, user_id: str) -> int | None:
        value = await conn.fetchval(
            "SELECT badge_seq FROM sent_syncs WHERE app_id = $1 AND user_id = $2",
            app_id,
            user_id,
        )
        return int(value) if value is not None else None

    async def save_pending(self, conn: Connection, pending: PendingSync) -> None:
        await conn.execute(
            f"INSERT INTO pending_syncs ({_PENDING_COLUMNS})"  # noqa: S608 - constant columns
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            " ON CONFLICT (app_id, user_id) DO UPDATE SET badge = EXCLUDED.badge,"
            " badge_seq = EXCLUDED.badge_seq, read_ids = EXCLUDED.read_ids,"
            " read_up_to = EXCLUDED.read_up_to, all_read = EXCLUDED.all_read,"
            " only_reporter = EXCLUDED.only_reporter,"
            " mixed_reporters = EXCLUDED.mixed_reporters",
            pending.app_id,
            pending.user_id,
            pending.badge,
            pending.badge_seq,
            list(pending.read_ids),
            pending.read_up_to,
            pending.all_read,
            pending.only_reporter,
            pending.mixed_reporters,
            pending.first_change_at,
            pending.flush_at,
        )

    async def take_due(self, conn: Connection, now: datetime, limit: int) -> list[PendingSync]:
        """Due syncs, locked; rows another replica is flushing are skipped, not waited for."""
        rows = await conn.fetch(
            f"SELECT {_PENDING_COLUMNS} FROM pending_syncs"  # noqa: S608 - constant columns
            " WHERE flush_at <= $1 ORDER BY flush_at LIMIT $2 FOR UPDATE SKIP LOCKED",
            now,
            limit,
        )
        return [_pending(row) for row in rows]

    async def mark_sent(self, conn: Connection, sent: Sequence[PendingSync], now: datetime) -> None:
        """Forget the flushed syncs and remember the newest sequence each user now has."""
        apps = [p.app_id for p in sent]
        users = [p.user_id for p in sent]
        await conn.execute(
            "DELETE FROM pending_syncs WHERE (app_id, user_id) IN"
            " (SELECT * FROM unnest($1::text[], $2::text[]))",
            apps,
            users,
        )
        await conn.execute(
            "INSERT INTO sent_syncs (app_id, user_id, badge_seq, sent_at)"
            " SELECT *, $4 FROM unnest($1::text[], $2::text[], $3::bigint[])"
            " ON CONFLICT (app_id, user_id) DO UPDATE"
            " SET badge_seq = GREATEST(sent_syncs.badge_seq, EXCLUDED.badge_seq),"
            " sent_at = EXCLUDED.sent_at",
            apps,
            users,
            [p.badge_seq for p in sent],
            now,
        )

    async def wake_budgets(
        self, conn: Connection, device_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, WakeBudget]:
        if not device_ids:
            return {}
        rows = await conn.fetch(
            "SELECT device_id, window_start, sent FROM wake_budget"
            " WHERE device_id = ANY($1::uuid[]) FOR UPDATE",
            list(device_ids),
        )
        return {row["device_id"]: WakeBudget(row["window_start"], row["sent"]) for row in rows}

    async def save_wake_budgets(
        self, conn: Connection, budgets: Mapping[uuid.UUID, WakeBudget]
    ) -> None:
        if not budgets:
            return
        await conn.execute(
            "INSERT INTO wake_budget (device_id, window_start, sent)"
            " SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::integer[])"
            " ON CONFLICT (device_id) DO UPDATE"
            " SET window_start = EXCLUDED.window_start, sent = EXCLUDED.sent",
            list(budgets),
            [b.window_start for b in budgets.values()],
            [b.sent for b in budgets.values()],
        )

    async def prune(self, conn: Connection, before: datetime, limit: int) -> int:
        """Forget up to ``limit`` users' last sync sent before ``before``, and as many wake
        budgets whose hour began before it; return how many rows went."""
        sent = await conn.fetchval(
            "WITH gone AS (DELETE FROM sent_syncs WHERE (app_id, user_id) IN ("
            " SELECT app_id, user_id FROM sent_syncs WHERE sent_at < $1 LIMIT $2)"
            " RETURNING 1) SELECT count(*) FROM gone",
            before,
            limit,
        )
        budgets = await conn.fetchval(
            "WITH gone AS (DELETE FROM wake_budget WHERE device_id IN ("
            " SELECT device_id FROM wake_budget WHERE window_start < $1 LIMIT $2)"
            " RETURNING 1) SELECT count(*) FROM gone",
            before,
            limit,
        )
        return max(int(sent or 0), int(budgets or 0))
