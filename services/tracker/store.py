"""Every SQL statement of the tracker. Writes are idempotent by construction: steps are keyed by
event id and only a step stored for the first time moves a user's tally (in the same
transaction), inbox entries keep the earliest arrival, reads are a set and watermarks only grow."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from operator import attrgetter
from typing import Any

import asyncpg

from contracts.trace import NotificationTraced
from services.tracker.domain import Answer, Progress, Tally, UserTallyKey, total_changes
from shared.db import Connection, transaction

InboxKey = tuple[str, str, uuid.UUID]
NotificationKey = tuple[str, uuid.UUID]
#: The key columns of user_tallies and of notification_totals, with their SQL types.
USER_KEY = (("app_id", "text"), ("notification_id", "uuid"), ("user_id", "text"))
NOTIFICATION_KEY = USER_KEY[:2]
#: The tallies' number columns, in the order of Tally's fields.
NUMBERS = tuple(f.name for f in fields(Tally) if f.name not in {"users", "failed", "withheld"})
UserKey = tuple[str, str]
#: What a pruned user's row gives back: the columns that take their tally off the total.
_RETURNED = ", ".join(f"t.{name}" for name in (*NUMBERS, "failed", "withheld"))


@dataclass(frozen=True)
class InboxRow:
    """One notification in a user's inbox, with what decides whether it is read."""

    notification_id: uuid.UUID
    reached_at: datetime
    read_by_id: bool
    read_up_to: datetime | None
    accepted: NotificationTraced | None


class TrackerStore:
    """Reads and writes the tracker's tables."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def record_steps(
        self, conn: Connection, steps: Sequence[NotificationTraced]
    ) -> set[uuid.UUID]:
        """Store each step not stored before (of copies in ``steps`` sharing an event id, the
        first); returns the event ids stored now."""
        rows = await conn.fetch(
            "INSERT INTO steps"
            " (event_id, app_id, notification_id, user_id, stage, occurred_at, step)"
            " SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[],"
            " $6::timestamptz[], $7::jsonb[]) ON CONFLICT (event_id) DO NOTHING"
            " RETURNING event_id",
            [s.event_id for s in steps],
            [s.app_id for s in steps],
            [s.notification_id for s in steps],
            [s.user_id for s in steps],
            [s.stage for s in steps],
            [s.occurred_at for s in steps],
            [s.model_dump_json() for s in steps],
        )
        return {row[0] for row in rows}

    async def lock_notifications(self, conn: Connection, keys: Iterable[NotificationKey]) -> None:
        """Serialise batches on the same notifications (two consumers, briefly, in a rebalance),
        so each moves its users' tallies from what the one before left; held until commit."""
        await conn.execute(
            "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(k, 0) AS h"
            " FROM unnest($1::text[]) AS k ORDER BY h) AS locks",
            [f"tracker/{app_id}/{notification_id}" for app_id, notification_id in set(keys)],
        )

    async def user_steps_of(
        self, conn: Connection, keys: Collection[UserTallyKey]
    ) -> dict[UserTallyKey, list[NotificationTraced]]:
        """Every stored step of each (app, notification, user)."""
        rows = await conn.fetch(
            "SELECT s.step FROM steps AS s JOIN unnest($1::text[], $2::uuid[], $3::text[])"
            " AS k (app_id, notification_id, user_id) ON s.app_id = k.app_id"
            " AND s.notification_id = k.notification_id AND s.user_id = k.user_id",
            [k[0] for k in keys],
            [k[1] for k in keys],
            [k[2] for k in keys],
        )
        found: dict[UserTallyKey, list[NotificationTraced]] = {key: [] for key in keys}
        for row in rows:
            step = NotificationTraced.model_validate_json(row["step"])
            if step.user_id is not None:
                found[(step.app_id, step.notification_id, step.user_id)].append(step)
        return found

    async def save_tallies(
        self,
        conn: Connection,
        tallies: Mapping[UserTallyKey, Tally],
        progress: Mapping[UserTallyKey, Progress],
    ) -> None:
        """Replace users' tallies, each with the progress (every user's) that leads to it."""
        await _write_tallies(
            conn,
            "user_tallies",
            USER_KEY,
            NUMBERS,
            tallies,
            [progress_json(progress[key]) for key in sorted(tallies)],
        )

    async def progress_of(
        self, conn: Connection, keys: Collection[UserTallyKey]
    ) -> dict[UserTallyKey, tuple[Tally, Progress | None]]:
        """The stored tally of each of these users and their progress; a user with no row is
        absent. Progress is None (unknown: to be rebuilt from the user's steps) when it is
        missing or of another version, or when it does not lead to the stored tally: a tracker
        that does not keep progress (one before migration 005, during a rolling upgrade or after
        a rollback) moved the tally since."""
        rows = await conn.fetch(
            "SELECT t.* FROM user_tallies AS t JOIN unnest($1::text[], $2::uuid[], $3::text[])"
            " AS k (app_id, notification_id, user_id) ON t.app_id = k.app_id"
            " AND t.notification_id = k.notification_id AND t.user_id = k.user_id",
            [k[0] for k in keys],
            [k[1] for k in keys],
            [k[2] for k in keys],
        )
        found: dict[UserTallyKey, tuple[Tally, Progress | None]] = {}
        for row in rows:
            stored = _tally(row, users=1)
            kept = progress_from_json(row["progress"])
            if kept is not None and kept.tally() != stored:
                kept = None
            found[(row["app_id"], row["notification_id"], row["user_id"])] = (stored, kept)
        return found

    async def add_to_totals(
        self, conn: Connection, changes: Mapping[NotificationKey, Tally]
    ) -> None:
        """Move notifications' running totals by ``changes``. The caller holds the notifications'
        locks (lock_notifications), so nothing moves a total between this read and write; rows are
        written in key order, so two transactions never wait on each other's rows in a cycle."""
        if not changes:
            return
        keys = sorted(changes)
        rows = await conn.fetch(
            "SELECT t.* FROM notification_totals AS t JOIN unnest($1::text[], $2::uuid[])"
            " AS k (app_id, notification_id) ON t.app_id = k.app_id"
            " AND t.notification_id = k.notification_id",
            [k[0] for k in keys],
            [k[1] for k in keys],
        )
        before = {(row["app_id"], row["notification_id"]): _tally(row) for row in rows}
        totals = {key: before.get(key, Tally()) + changes[key] for key in keys}
        await _write_tallies(
            conn, "notification_totals", NOTIFICATION_KEY, ("users", *NUMBERS), totals
        )

    async def counts_of(self, app_id: str, notification_id: uuid.UUID) -> Tally:
        """The sum of a notification's users' tallies (zero before any user's step)."""
        return (await self.counts_of_each(app_id, [notification_id]))[notification_id]

    async def counts_of_each(
        self, app_id: str, notification_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, Tally]:
        """Each notification's running total, in one statement for the lot."""
        rows = await self.pool.fetch(
            "SELECT * FROM notification_totals WHERE app_id = $1"
            " AND notification_id = ANY($2::uuid[])",
            app_id,
            notification_ids,
        )
        found = {row["notification_id"]: _tally(row) for row in rows}
        return {n: found.get(n, Tally()) for n in notification_ids}

    async def own_steps_of(
        self, app_id: str, notification_id: uuid.UUID
    ) -> list[NotificationTraced]:
        """The steps of a notification that concern no one user (accepted, for one)."""
        return (await self.own_steps_of_each(app_id, [notification_id]))[notification_id]

    async def own_steps_of_each(
        self, app_id: str, notification_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[NotificationTraced]]:
        """Each notification's steps that concern no one user, in one statement for the lot."""
        rows = await self.pool.fetch(
            "SELECT notification_id, step FROM steps WHERE app_id = $1"
            " AND notification_id = ANY($2::uuid[]) AND user_id IS NULL",
            app_id,
            notification_ids,
        )
        found: dict[uuid.UUID, list[NotificationTraced]] = {n: [] for n in notification_ids}
        for row in rows:
            found[row["notification_id"]].append(
                NotificationTraced.model_validate_json(row["step"])
            )
        return found

    async def accepted_by_key(self, app_id: str, idempotency_key: str) -> uuid.UUID | None:
        """The notification an app's send with this idempotency key became, if still kept."""
        found: uuid.UUID | None = await self.pool.fetchval(
            "SELECT notification_id FROM steps WHERE app_id = $1 AND stage = 'accepted'"
            " AND step->>'idempotency_key' = $2 ORDER BY occurred_at LIMIT 1",
            app_id,
            idempotency_key,
        )
        return found

    async def newest_accepted(self, app_id: str, limit: int) -> list[uuid.UUID]:
        """The app's most recently accepted notifications, newest first."""
        rows = await self.pool.fetch(
            "SELECT notification_id FROM steps WHERE app_id = $1 AND stage = 'accepted'"
            " ORDER BY occurred_at DESC, notification_id DESC LIMIT $2",
            app_id,
            limit,
        )
        return [row["notification_id"] for row in rows]

    async def record_reaches(self, conn: Connection, reaches: Mapping[InboxKey, datetime]) -> None:
        """Put notifications in inboxes, keeping the earliest time each reached its user."""
        keys = list(reaches)
        await conn.execute(
            "INSERT INTO inbox (app_id, user_id, notification_id, reached_at)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::timestamptz[])"
            " ON CONFLICT (app_id, user_id, notification_id)"
            " DO UPDATE SET reached_at = LEAST(inbox.reached_at, EXCLUDED.reached_at)",
            [k[0] for k in keys],
            [k[1] for k in keys],
            [k[2] for k in keys],
            [reaches[k] for k in keys],
        )

    async def extend_notifications(
        self, conn: Connection, active: Mapping[NotificationKey, datetime]
    ) -> None:
        """Move notifications' last activity later (never earlier)."""
        keys = list(active)
        await conn.execute(
            "INSERT INTO notifications (app_id, notification_id, active_until)"
            " SELECT * FROM unnest($1::text[], $2::uuid[], $3::timestamptz[])"
            " ON CONFLICT (app_id, notification_id)"
            " DO UPDATE SET active_until = GREATEST(notifications.active_until,"
            " EXCLUDED.active_until)",
            [k[0] for k in keys],
            [k[1] for k in keys],
            [active[k] for k in keys],
        )

    async def record_reads(self, conn: Connection, reads: Mapping[InboxKey, datetime]) -> None:
        """Remember notifications read by id (the first time each was said to be read)."""
        keys = list(reads)
        await conn.execute(
            "INSERT INTO reads (app_id, user_id, notification_id, read_at)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::timestamptz[])"
            " ON CONFLICT DO NOTHING",
            [k[0] for k in keys],
            [k[1] for k in keys],
            [k[2] for k in keys],
            [reads[k] for k in keys],
        )

    async def raise_marks(
        self, conn: Connection, marks: Mapping[UserKey, tuple[datetime, datetime]]
    ) -> None:
        """Raise users' read watermarks ((up to, changed at) per user); never lowers one."""
        keys = list(marks)
        await conn.execute(
            "INSERT INTO read_marks (app_id, user_id, read_up_to, changed_at)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[])"
            " ON CONFLICT (app_id, user_id) DO UPDATE SET"
            " read_up_to = GREATEST(read_marks.read_up_to, EXCLUDED.read_up_to),"
            " changed_at = GREATEST(read_marks.changed_at, EXCLUDED.changed_at)",
            [k[0] for k in keys],
            [k[1] for k in keys],
            [marks[k][0] for k in keys],
            [marks[k][1] for k in keys],
        )

    async def timeline_of(
        self, app_id: str, notification_id: uuid.UUID, user_id: str
    ) -> list[NotificationTraced]:
        """One user's steps of a notification, in no particular order."""
        rows = await self.pool.fetch(
            "SELECT step FROM steps WHERE app_id = $1 AND notification_id = $2 AND user_id = $3",
            app_id,
            notification_id,
            user_id,
        )
        return [NotificationTraced.model_validate_json(row["step"]) for row in rows]

    async def inbox_of(
        self,
        app_id: str,
        user_id: str,
        limit: int,
        after: tuple[datetime, uuid.UUID] | None = None,
    ) -> list[InboxRow]:
        """Up to ``limit`` of the user's notifications, newest first, older than ``after``."""
        rows = await self.pool.fetch(
            "SELECT i.notification_id, i.reached_at, r.notification_id IS NOT NULL AS read_by_id,"
            " m.read_up_to, a.step AS accepted"
            " FROM inbox AS i"
            " LEFT JOIN reads AS r ON r.app_id = i.app_id AND r.user_id = i.user_id"
            "  AND r.notification_id = i.notification_id"
            " LEFT JOIN read_marks AS m ON m.app_id = i.app_id AND m.user_id = i.user_id"
            " LEFT JOIN LATERAL (SELECT s.step FROM steps AS s WHERE s.app_id = i.app_id"
            "  AND s.notification_id = i.notification_id AND s.user_id IS NULL"
            "  AND s.stage = 'accepted' LIMIT 1) AS a ON true"
            " WHERE i.app_id = $1 AND i.user_id = $2"
            " AND ($3::timestamptz IS NULL OR (i.reached_at, i.notification_id) < ($3, $4))"
            " ORDER BY i.reached_at DESC, i.notification_id DESC LIMIT $5",
            app_id,
            user_id,
            after[0] if after else None,
            after[1] if after else None,
            limit,
        )
        return [
            InboxRow(
                notification_id=row["notification_id"],
                reached_at=row["reached_at"],
                read_by_id=row["read_by_id"],
                read_up_to=row["read_up_to"],
                accepted=None
                if row["accepted"] is None
                else NotificationTraced.model_validate_json(row["accepted"]),
            )
            for row in rows
        ]

    async def prune(self, before: datetime, limit: int) -> int:
        """Forget, up to ``limit`` rows of each table, what was last active before ``before``: the
        tallies, totals and steps of notifications inactive since (then the notifications), inbox
        entries and reads.
        Returns the most rows one table lost (the pruner goes on while one had a full batch)."""
        statements = {
            "notification_totals": "DELETE FROM notification_totals"
            " WHERE (app_id, notification_id) IN (SELECT t.app_id, t.notification_id"
            " FROM notifications AS n"
            " JOIN notification_totals AS t ON t.app_id = n.app_id"
            " AND t.notification_id = n.notification_id WHERE n.active_until < $1"
            " AND NOT EXISTS (SELECT 1 FROM user_tallies AS u WHERE u.app_id = t.app_id"
            " AND u.notification_id = t.notification_id) LIMIT $2)",
            "steps": "DELETE FROM steps WHERE event_id IN"
            " (SELECT s.event_id FROM notifications AS n JOIN steps AS s"
            " ON s.app_id = n.app_id AND s.notification_id = n.notification_id"
            " WHERE n.active_until < $1 AND NOT EXISTS (SELECT 1 FROM user_tallies AS t"
            " WHERE t.app_id = s.app_id AND t.notification_id = s.notification_id"
            " AND t.user_id = s.user_id) LIMIT $2)",
            "notifications": "DELETE FROM notifications WHERE (app_id, notification_id) IN"
            " (SELECT n.app_id, n.notification_id FROM notifications AS n"
            " WHERE n.active_until < $1 AND NOT EXISTS (SELECT 1 FROM steps AS s"
            " WHERE s.app_id = n.app_id AND s.notification_id = n.notification_id)"
            " AND NOT EXISTS (SELECT 1 FROM user_tallies AS t"
            " WHERE t.app_id = n.app_id AND t.notification_id = n.notification_id)"
            " AND NOT EXISTS (SELECT 1 FROM notification_totals AS t"
            " WHERE t.app_id = n.app_id AND t.notification_id = n.notification_id) LIMIT $2)",
            "inbox": "DELETE FROM inbox WHERE (app_id, user_id, notification_id) IN"
            " (SELECT app_id, user_id, notification_id FROM inbox WHERE reached_at < $1 LIMIT $2)",
            "reads": "DELETE FROM reads WHERE (app_id, user_id, notification_id) IN"
            " (SELECT app_id, user_id, notification_id FROM reads WHERE read_at < $1 LIMIT $2)",
            "read_marks": "DELETE FROM read_marks WHERE (app_id, user_id) IN"
            " (SELECT app_id, user_id FROM read_marks WHERE changed_at < $1 LIMIT $2)",
        }
        async with transaction(self.pool) as conn:
            tallies, user_steps = await self._prune_tallies(conn, before, limit)
            gone = {"user_tallies": tallies}
            for table, statement in statements.items():
                count = await conn.fetchval(
                    f"WITH gone AS ({statement} RETURNING 1) SELECT count(*) FROM gone",  # noqa: S608
                    before,
                    limit,
                )
                gone[table] = int(count)
        gone["steps"] += user_steps
        return max(gone.values())

    async def _prune_tallies(
        self, conn: Connection, before: datetime, limit: int
    ) -> tuple[int, int]:
        """Delete up to ``limit`` tallies of notifications inactive before ``before``, with their
        users' steps, and take them off their notifications' totals, under the notifications'
        locks as a batch of steps would: a total stays the sum of the tallies left, and a late
        step of a pruned user starts from empty progress with none of their steps left."""
        doomed = await conn.fetch(
            "SELECT t.app_id, t.notification_id, t.user_id FROM notifications AS n"
            " JOIN user_tallies AS t ON t.app_id = n.app_id"
            " AND t.notification_id = n.notification_id WHERE n.active_until < $1 LIMIT $2",
            before,
            limit,
        )
        if not doomed:
            return 0, 0
        await self.lock_notifications(conn, {(row[0], row[1]) for row in doomed})
        rows = await conn.fetch(
            "DELETE FROM user_tallies AS t USING unnest($1::text[], $2::uuid[], $3::text[])"  # noqa: S608 - Tally's names
            " AS k (app_id, notification_id, user_id) WHERE t.app_id = k.app_id"
            " AND t.notification_id = k.notification_id AND t.user_id = k.user_id RETURNING"
            f" t.app_id, t.notification_id, t.user_id, {_RETURNED}",
            [row[0] for row in doomed],
            [row[1] for row in doomed],
            [row[2] for row in doomed],
        )
        user_steps = await conn.fetchval(
            "WITH gone AS (DELETE FROM steps AS s USING unnest($1::text[], $2::uuid[], $3::text[])"
            " AS k (app_id, notification_id, user_id)"
            " WHERE s.app_id = k.app_id AND s.notification_id = k.notification_id"
            " AND s.user_id = k.user_id RETURNING 1) SELECT count(*) FROM gone",
            [row["app_id"] for row in rows],
            [row["notification_id"] for row in rows],
            [row["user_id"] for row in rows],
        )
        removed = {
            (row["app_id"], row["notification_id"], row["user_id"]): _tally(row, users=1)
            for row in rows
        }
        await self.add_to_totals(conn, total_changes(dict.fromkeys(removed, Tally()), removed))
        return len(rows), int(user_steps)


async def _write_tallies(
    conn: Connection,
    table: str,
    key: Sequence[tuple[str, str]],
    numbers: Sequence[str],
    tallies: Mapping[tuple[Any, ...], Tally],
    progress: list[str] | None = None,
) -> None:
    """Insert or replace one row of ``table`` per tally, keyed by the ``key`` columns (name, SQL
    type), in key order (so two transactions never wait on each other's rows in a cycle), with
    ``progress`` (in the same order) when given."""
    if not tallies:
        return
    keys = sorted(tallies)
    width = len(key)
    texts = ("failed", "withheld") if progress is None else ("failed", "withheld", "progress")
    columns = ", ".join((*(name for name, _ in key), *numbers, *texts))
    arrays = ", ".join(
        (
            *(f"${i + 1}::{sql_type}[]" for i, (_, sql_type) in enumerate(key)),
            *(f"${width + i + 1}::integer[]" for i in range(len(numbers))),
            f"${width + len(numbers) + 1}::jsonb[]",
            f"${width + len(numbers) + 2}::jsonb[]",
            *(() if progress is None else (f"${width + len(numbers) + 3}::text[]",)),
        )
    )
    conflict = ", ".join(name for name, _ in key)
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in (*numbers, *texts))
    order = ", ".join(str(i + 1) for i in range(width))
    rows = [tallies[k] for k in keys]
    await conn.execute(
        f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}) ORDER BY {order}"  # noqa: S608 - names from Tally and this module
        f" ON CONFLICT ({conflict}) DO UPDATE SET {updates}",
        *(list(column) for column in zip(*keys, strict=True)),
        *(list(column) for column in zip(*map(attrgetter(*numbers), rows), strict=True)),
        [_reasons_json(row.failed) for row in rows],
        [_reasons_json(row.withheld) for row in rows],
        *(() if progress is None else (progress,)),
    )


def _reasons_json(reasons: dict[str, int]) -> str:
    """Reason counts as JSON (most users have none)."""
    return json.dumps(reasons) if reasons else "{}"


def _reasons(text: str) -> dict[str, int]:
    """Reason counts from JSON, sorted by reason as Tally keeps them."""
    return dict(sorted(json.loads(text).items())) if text != "{}" else {}


def _tally(row: asyncpg.Record, users: int | None = None) -> Tally:
    """A tally from a row of user_tallies (``users`` given: it has no such column) or of
    notification_totals; reasons sorted, as Tally keeps them."""
    return Tally(
        users=row["users"] if users is None else users,
        **{name: row[name] for name in NUMBERS},
        failed=_reasons(row["failed"]),
        withheld=_reasons(row["withheld"]),
    )


#: The version of the progress JSON this tracker writes; text of any other version (or none) is
#: unknown progress, rebuilt from the user's steps, so changing the rules never breaks a read.
PROGRESS_VERSION = 1


def progress_json(progress: Progress) -> str:
    """A user's progress as the JSON text kept beside their tally: sets as sorted lists, so equal
    progress gives equal text; ``answered`` leaves out the devices ``answers`` already names."""
    return json.dumps(
        {
            "v": PROGRESS_VERSION,
            "stages": sorted(progress.stages),
            "own_stages": sorted(progress.own_stages),
            "expected": progress.expected,
            "ended": progress.ended,
            "opted_out": progress.opted_out,
            "answered": sorted(progress.answered.difference(progress.answers)),
            "deactivated": sorted(progress.deactivated),
            "opened": sorted(progress.opened),
            "answers": dict(sorted(progress.answers.items())),
            "withheld": {
                reason: sorted(keys) for reason, keys in sorted(progress.withheld.items())
            },
        },
        separators=(",", ":"),
    )


def progress_from_json(text: str | None) -> Progress | None:
    """A user's progress from the JSON text progress_json wrote; None if there is none or it
    is of another version."""
    if text is None:
        return None
    kept = json.loads(text)
    if not isinstance(kept, dict) or kept.get("v") != PROGRESS_VERSION:
        return None
    answers: dict[str, Answer] = {
        device: None if answer is None else (answer[0], answer[1], answer[2])
        for device, answer in kept["answers"].items()
    }
    return Progress(
        stages=set(kept["stages"]),
        own_stages=set(kept["own_stages"]),
        expected=kept["expected"],
        ended=kept["ended"],
        opted_out=kept["opted_out"],
        answered={*kept["answered"], *(device for device in answers if device)},
        deactivated=set(kept["deactivated"]),
        opened=set(kept["opened"]),
        answers=answers,
        withheld={reason: set(keys) for reason, keys in kept["withheld"].items()},
    )
