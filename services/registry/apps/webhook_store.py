"""Every SQL statement about apps' webhooks; the caller's transaction holds the app's lock, so a
change and the announcement of the app's new state commit together."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from contracts.apps import Sealed, WebhookEntry
from contracts.trace import Stage
from shared.db import Connection


@dataclass(frozen=True)
class WebhookInfo:
    """A webhook as an operator sees it: never its secret."""

    webhook_id: uuid.UUID
    url: str
    stages: list[str]
    created_at: datetime


async def add_webhook(
    conn: Connection,
    app_id: str,
    webhook_id: uuid.UUID,
    url: str,
    stages: Sequence[Stage],
    sealed: bytes,
    now: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO webhooks (webhook_id, app_id, url, stages, sealed, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        webhook_id,
        app_id,
        url,
        list(stages),
        sealed,
        now,
    )


async def delete_webhook(conn: Connection, app_id: str, webhook_id: uuid.UUID) -> bool:
    """Forget the webhook; False when the app had no such webhook."""
    found = await conn.fetchval(
        "DELETE FROM webhooks WHERE app_id = $1 AND webhook_id = $2 RETURNING true",
        app_id,
        webhook_id,
    )
    return bool(found)


async def webhooks_of(conn: Connection, app_id: str) -> list[WebhookInfo]:
    rows = await conn.fetch(
        "SELECT webhook_id, url, stages, created_at FROM webhooks WHERE app_id = $1"
        " ORDER BY created_at, webhook_id",
        app_id,
    )
    return [
        WebhookInfo(row["webhook_id"], row["url"], list(row["stages"]), row["created_at"])
        for row in rows
    ]


async def webhook_entries(conn: Connection, app_id: str) -> list[WebhookEntry]:
    """The app's webhooks as its announced state carries them, secrets sealed."""
    rows = await conn.fetch(
        "SELECT webhook_id, url, stages, sealed FROM webhooks WHERE app_id = $1"
        " ORDER BY created_at, webhook_id",
        app_id,
    )
    return [
        WebhookEntry.model_validate(
            {
                "webhook_id": row["webhook_id"],
                "url": row["url"],
                "stages": list(row["stages"]),
                "secret": Sealed(ciphertext=bytes(row["sealed"])),
            }
        )
        for row in rows
    ]
