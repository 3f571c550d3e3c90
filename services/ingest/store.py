"""Every SQL statement of ingest: the idempotency ledger."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class Submission:
    """The ledger row for one (app, idempotency key)."""

    notification_id: uuid.UUID
    fingerprint: bytes
    recipients: int | None
    accepted_at: datetime
    published: bool
    created: bool


class SubmissionStore:
    """Reads and writes ``ingest.submissions``."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def claim(
        self,
        *,
        app_id: str,
        idempotency_key: str,
        fingerprint: bytes,
        notification_id: uuid.UUID,
        recipients: int | None,
        source: str,
        now: datetime,
    ) -> Submission:
        """Record a first request, or return the row an earlier request with this key made.

        Both unique keys of the row (the idempotency key, and the notification id derived from it)
        arbitrate the insert, so a concurrent identical request is a conflict whichever index meets
        it first, never an error. A concurrent first request can commit between this statement's
        snapshot and its insert; the statement then sees neither, so it is asked once more.
        """
        for _ in range(2):
            row = await self._claim_once(
                app_id, idempotency_key, fingerprint, notification_id, recipients, source, now
            )
            if row is not None:
                return Submission(
                    notification_id=row["notification_id"],
                    fingerprint=bytes(row["fingerprint"]),
                    recipients=row["recipients"],
                    accepted_at=row["accepted_at"],
                    published=row["published_at"] is not None,
                    created=row["created"],
                )
        raise RuntimeError(f"idempotency ledger returned no row for app {app_id}")

    async def _claim_once(
        self,
        app_id: str,
        idempotency_key: str,
        fingerprint: bytes,
        notification_id: uuid.UUID,
        recipients: int | None,
        source: str,
        now: datetime,
    ) -> asyncpg.Record | None:
        return await self.pool.fetchrow(
            """
            WITH inserted AS (
                INSERT INTO submissions (app_id, idempotency_key, fingerprint, notification_id,
                                         recipients, source, accepted_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT DO NOTHING
                RETURNING notification_id, fingerprint, recipients, accepted_at, published_at,
                          true AS created
            )
            SELECT * FROM inserted
            UNION ALL
            SELECT notification_id, fingerprint, recipients, accepted_at, published_at,
                   false AS created
            FROM submissions
            WHERE app_id = $1 AND idempotency_key = $2 AND NOT EXISTS (SELECT 1 FROM inserted)
            """,
            app_id,
            idempotency_key,
            fingerprint,
            notification_id,
            recipients,
            source,
            now,
        )

    async def knows(self, app_id: str, notification_id: uuid.UUID) -> bool:
        """True when ``app_id`` submitted the notification with this id."""
        return bool(
            await self.pool.fetchval(
                "SELECT EXISTS (SELECT 1 FROM submissions"
                " WHERE app_id = $1 AND notification_id = $2)",
                app_id,
                notification_id,
            )
        )

    async def notification_of(self, app_id: str, idempotency_key: str) -> uuid.UUID | None:
        """The id of the notification ``app_id`` sent with this key; None before it did."""
        found: uuid.UUID | None = await self.pool.fetchval(
            "SELECT notification_id FROM submissions WHERE app_id = $1 AND idempotency_key = $2",
            app_id,
            idempotency_key,
        )
        return found

    async def mark_published(self, app_id: str, idempotency_key: str, now: datetime) -> None:
        """Note that every per-user event of the submission is on the broker."""
        await self.pool.execute(
            "UPDATE submissions SET published_at = $3"
            " WHERE app_id = $1 AND idempotency_key = $2 AND published_at IS NULL",
            app_id,
            idempotency_key,
            now,
        )

    async def prune(self, before: datetime, limit: int) -> int:
        """Forget up to ``limit`` submissions accepted before ``before`` (published ones only: an
        unpublished row tells a retry to publish again); return how many went."""
        gone = await self.pool.fetchval(
            "WITH gone AS (DELETE FROM submissions WHERE (app_id, idempotency_key) IN ("
            " SELECT app_id, idempotency_key FROM submissions"
            " WHERE accepted_at < $1 AND published_at IS NOT NULL LIMIT $2)"
            " RETURNING 1) SELECT count(*) FROM gone",
            before,
            limit,
        )
        return int(gone or 0)
