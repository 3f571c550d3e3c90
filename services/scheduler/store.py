"""Every SQL statement of the scheduler, over its own schema.

Statements work on whole batches (``unnest`` of arrays) and take the connection of the caller's
transaction where several must commit together.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import asyncpg

from contracts.codec import encode
from contracts.notifications import UserNotification
from services.scheduler.domain import Plan
from services.scheduler.outcomes import HeldCopy
from services.scheduler.preferences_store import UserKey
from shared.db import Connection, transaction
from shared.kafka.tracing import context_of

State = Literal["held", "released", "expired", "cancelled", "withheld"]
NotificationKey = tuple[str, uuid.UUID]
#: A wave of a paced notification: its copies planned for the same instant share slots.
WaveKey = tuple[str, uuid.UUID, datetime]


@dataclass(frozen=True)
class NewCopy:
    """A copy to store: its plan, pacing offset, state, and when the release loop should act."""

    notification: UserNotification
    plan: Plan
    offset: timedelta
    state: State
    act_at: datetime


@dataclass(frozen=True)
class Claimed:
    """A held copy claimed by this transaction, and the trace context it came in with."""

    event_id: uuid.UUID
    copy: HeldCopy
    trace_context: dict[str, str]


@dataclass(frozen=True)
class CancelTally:
    """What a cancel found: how many copies of the notification are dropped so far, how many had
    gone out, and how many this call dropped."""

    dropped: int
    released: int
    dropped_now: int


@dataclass(frozen=True)
class Replannable:
    """A held copy of a user whose preferences changed."""

    event_id: uuid.UUID
    notification: UserNotification
    offset: timedelta


class SchedulerStore:
    """The scheduler's tables of copies: held copies, notifications, pacing slots."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def lock_notifications(
        self, conn: Connection, keys: Collection[NotificationKey], now: datetime
    ) -> set[NotificationKey]:
        """Share-lock the notifications' rows (creating them first); return the cancelled ones.

        A cancel takes the same rows for update, so it waits for this transaction or this one
        sees it. Rows are taken in key order so concurrent batches never deadlock.
        """
        ordered = sorted(keys)
        apps, ids = [k[0] for k in ordered], [k[1] for k in ordered]
        await conn.execute(
            "INSERT INTO notifications (app_id, notification_id, first_seen_at)"
            " SELECT a, n, $3 FROM unnest($1::text[], $2::uuid[]) AS k(a, n) ORDER BY a, n"
            " ON CONFLICT DO NOTHING",
            apps,
            ids,
            now,
        )
        rows = await conn.fetch(
            "SELECT app_id, notification_id, cancelled_at FROM notifications"
            " WHERE (app_id, notification_id) IN (SELECT * FROM unnest($1::text[], $2::uuid[]))"
            " ORDER BY app_id, notification_id FOR SHARE",
            apps,
            ids,
        )
        return {
            (row["app_id"], row["notification_id"])
            for row in rows
            if row["cancelled_at"] is not None
        }

    async def seen(self, conn: Connection, event_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
        """The event ids already stored (redelivered copies)."""
        rows = await conn.fetch(
            "SELECT event_id FROM held WHERE event_id = ANY($1::uuid[])", list(event_ids)
        )
        return {row["event_id"] for row in rows}

    async def take_slots(
        self, conn: Connection, waves: Mapping[WaveKey, int], now: datetime
    ) -> dict[WaveKey, int]:
        """Reserve ``count`` consecutive pacing slots per wave; return each wave's first slot."""
        ordered = sorted(waves)
        rows = await conn.fetch(
            "INSERT INTO pacing AS p (app_id, notification_id, base_at, next_slot, created_at)"
            " SELECT a, n, b, c, $5"
            " FROM unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::bigint[]) AS w(a, n, b, c)"
            " ORDER BY a, n, b"
            " ON CONFLICT (app_id, notification_id, base_at)"
            " DO UPDATE SET next_slot = p.next_slot + EXCLUDED.next_slot"
            " RETURNING app_id, notification_id, base_at, next_slot",
            [w[0] for w in ordered],
            [w[1] for w in ordered],
            [w[2] for w in ordered],
            [waves[w] for w in ordered],
            now,
        )
        taken = {(r["app_id"], r["notification_id"], r["base_at"]): r["next_slot"] for r in rows}
        return {wave: taken[wave] - waves[wave] for wave in ordered}

    async def hold(self, conn: Connection, copies: Sequence[NewCopy], now: datetime) -> None:
        """Store new copies, each with the trace context of the message it came in; a copy stored
        before (same event id) is left as it is."""
        await conn.execute(
            """
            INSERT INTO held (event_id, app_id, notification_id, user_id, event, target_at,
                              release_at, deadline, act_at, pace_offset, state, received_at,
                              ended_at, trace_context)
            SELECT e, a, n, u, j::jsonb, t, r, d, x, o, s, $12::timestamptz,
                   CASE WHEN s = 'held' THEN NULL ELSE $12::timestamptz END, tc::jsonb
            FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[],
                        $6::timestamptz[], $7::timestamptz[], $8::timestamptz[],
                        $9::timestamptz[], $10::interval[], $11::text[], $13::text[])
              AS c(e, a, n, u, j, t, r, d, x, o, s, tc)
            ON CONFLICT (event_id) DO NOTHING
            """,
            [c.notification.event_id for c in copies],
            [c.notification.app_id for c in copies],
            [c.notification.notification_id for c in copies],
            [c.notification.user_id for c in copies],
            [encode(c.notification).decode() for c in copies],
            [c.plan.target_at for c in copies],
            [c.plan.release_at for c in copies],
            [c.plan.deadline for c in copies],
            [c.act_at for c in copies],
            [c.offset for c in copies],
            [c.state for c in copies],
            now,
            [_stored(context_of(c.notification)) for c in copies],
        )

    async def claim(
        self, conn: Connection, now: datetime, limit: int, lock_timeout: timedelta
    ) -> list[Claimed]:
        """Lock up to ``limit`` held copies due by ``now``, skipping copies others hold.

        The locks last until the caller's transaction ends; if this process stalls longer than
        ``lock_timeout`` with the transaction idle, PostgreSQL ends the session and frees them.
        """
        await conn.execute(
            "SELECT set_config('idle_in_transaction_session_timeout', $1, true)",
            str(int(lock_timeout.total_seconds() * 1000)),
        )
        rows = await conn.fetch(
            "SELECT event_id, event, release_at, deadline, trace_context FROM held"
            " WHERE state = 'held' AND act_at <= $1"
            " ORDER BY act_at, arrival LIMIT $2 FOR UPDATE SKIP LOCKED",
            now,
            limit,
        )
        return [
            Claimed(
                row["event_id"],
                HeldCopy(
                    UserNotification.model_validate_json(row["event"]),
                    row["release_at"],
                    row["deadline"],
                ),
                json.loads(row["trace_context"]) if row["trace_context"] else {},
            )
            for row in rows
        ]

    async def settle(
        self, conn: Connection, outcomes: Sequence[tuple[uuid.UUID, State]], now: datetime
    ) -> None:
        """Record how claimed copies ended."""
        await conn.execute(
            "UPDATE held SET state = s.state, ended_at = $3"
            " FROM unnest($1::uuid[], $2::text[]) AS s(event_id, state)"
            " WHERE held.event_id = s.event_id AND held.state = 'held'",
            [event_id for event_id, _ in outcomes],
            [state for _, state in outcomes],
            now,
        )

    async def next_act_at(self) -> datetime | None:
        """When the earliest held copy needs the release loop, or None when nothing is held."""
        value: datetime | None = await self.pool.fetchval(
            "SELECT min(act_at) FROM held WHERE state = 'held'"
        )
        return value

    async def cancel(
        self, conn: Connection, app_id: str, notification_id: uuid.UUID, now: datetime
    ) -> CancelTally:
        """Mark the notification cancelled and drop its held copies.

        A copy being released right now is locked by its releaser: the drop waits for it and then
        counts it as released. The dropped and released copies cover every copy seen, so a
        repeated cancel answers the same; ``dropped_now`` is what this call changed (metrics).
        """
        await conn.execute(
            "INSERT INTO notifications (app_id, notification_id, first_seen_at, cancelled_at)"
            " VALUES ($1, $2, $3, $3) ON CONFLICT (app_id, notification_id) DO UPDATE"
            " SET cancelled_at = coalesce(notifications.cancelled_at, EXCLUDED.cancelled_at)",
            app_id,
            notification_id,
            now,
        )
        status = await conn.execute(
            "UPDATE held SET state = 'cancelled', ended_at = $3"
            " WHERE app_id = $1 AND notification_id = $2 AND state = 'held'",
            app_id,
            notification_id,
            now,
        )
        [counts] = await conn.fetch(
            "SELECT count(*) FILTER (WHERE state = 'cancelled') AS dropped,"
            " count(*) FILTER (WHERE state = 'released') AS released"
            " FROM held WHERE app_id = $1 AND notification_id = $2",
            app_id,
            notification_id,
        )
        return CancelTally(
            dropped=int(counts["dropped"]),
            released=int(counts["released"]),
            dropped_now=int(status.split()[-1]),
        )

    async def dropped_page(
        self, app_id: str, notification_id: uuid.UUID, after_user: str, limit: int
    ) -> list[tuple[str, datetime]]:
        """Dropped copies (user, when) after ``after_user`` in user order: a cancel reports a
        broadcast's million drops a page at a time."""
        rows = await self.pool.fetch(
            "SELECT user_id, ended_at FROM held WHERE app_id = $1 AND notification_id = $2"
            " AND state = 'cancelled' AND user_id > $3 ORDER BY user_id LIMIT $4",
            app_id,
            notification_id,
            after_user,
            limit,
        )
        return [(row["user_id"], row["ended_at"]) for row in rows]

    async def held_of_users(
        self, conn: Connection, users: Collection[UserKey]
    ) -> list[Replannable]:
        """Lock the users' held copies, skipping any a releaser holds (it is sending them)."""
        rows = await conn.fetch(
            "SELECT event_id, event, pace_offset FROM held"
            " WHERE state = 'held'"
            " AND (app_id, user_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
            " FOR UPDATE SKIP LOCKED",
            [u[0] for u in users],
            [u[1] for u in users],
        )
        return [
            Replannable(
                row["event_id"],
                UserNotification.model_validate_json(row["event"]),
                row["pace_offset"],
            )
            for row in rows
        ]

    async def replan(
        self, conn: Connection, plans: Sequence[tuple[uuid.UUID, Plan, datetime]]
    ) -> None:
        """Store new plans (and the time to act) of held copies."""
        await conn.execute(
            "UPDATE held SET target_at = c.t, release_at = c.r, deadline = c.d, act_at = c.x"
            " FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::timestamptz[],"
            " $5::timestamptz[]) AS c(e, t, r, d, x)"
            " WHERE held.event_id = c.e AND held.state = 'held'",
            [event_id for event_id, _, _ in plans],
            [plan.target_at for _, plan, _ in plans],
            [plan.release_at for _, plan, _ in plans],
            [plan.deadline for _, plan, _ in plans],
            [act_at for _, _, act_at in plans],
        )

    async def prune(self, before: datetime, limit: int) -> int:
        """Forget up to ``limit`` copies settled before ``before``, then stale pacing counters and
        notifications with nothing held; return how many copies went."""
        async with transaction(self.pool) as conn:
            deleted = await conn.fetchval(
                "WITH gone AS (DELETE FROM held WHERE event_id IN ("
                " SELECT event_id FROM held WHERE state <> 'held' AND ended_at < $1 LIMIT $2)"
                " RETURNING 1) SELECT count(*) FROM gone",
                before,
                limit,
            )
            await conn.execute("DELETE FROM pacing WHERE created_at < $1", before)
            await conn.execute(
                "DELETE FROM notifications AS n WHERE first_seen_at < $1 AND NOT EXISTS ("
                " SELECT 1 FROM held AS h WHERE h.app_id = n.app_id"
                " AND h.notification_id = n.notification_id AND h.state = 'held')",
                before,
            )
        return int(deleted or 0)


def _stored(trace_context: Mapping[str, str]) -> str | None:
    return json.dumps(trace_context) if trace_context else None
