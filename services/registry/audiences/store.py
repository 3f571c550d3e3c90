"""Every SQL statement of topics, tags and audience streaming (``topic_subscriptions``,
``user_topic_subscriptions``, ``device_tags``, ``user_tags``, and the keyset pages over
``devices``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Collection, Mapping
from datetime import datetime

import asyncpg

from services.registry.audiences.domain import Match, Progress, check_topic_count
from shared.db import transaction

_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"

_SUBSCRIBE = """
INSERT INTO topic_subscriptions (device_id, topic, subscribed_at)
SELECT $1, topic, $3 FROM unnest($2::text[]) AS topic
ON CONFLICT DO NOTHING
"""
_UNSUBSCRIBE = "DELETE FROM topic_subscriptions WHERE device_id = $1 AND topic = ANY($2::text[])"
_TOPICS_OF = "SELECT topic FROM topic_subscriptions WHERE device_id = $1 ORDER BY topic"

_SUBSCRIBE_USER = """
INSERT INTO user_topic_subscriptions (app_id, user_id, topic, subscribed_at)
SELECT $1, $2, topic, $4 FROM unnest($3::text[]) AS topic
ON CONFLICT DO NOTHING
"""
_UNSUBSCRIBE_USER = """
DELETE FROM user_topic_subscriptions WHERE app_id = $1 AND user_id = $2 AND topic = ANY($3::text[])
"""
_USER_TOPICS = """
SELECT topic FROM user_topic_subscriptions WHERE app_id = $1 AND user_id = $2 ORDER BY topic
"""

_DEVICE_TAGS = "SELECT tags FROM device_tags WHERE device_id = $1"
_SAVE_DEVICE_TAGS = """
INSERT INTO device_tags (device_id, tags, updated_at) VALUES ($1, $2::jsonb, $3)
ON CONFLICT (device_id) DO UPDATE SET tags = EXCLUDED.tags, updated_at = EXCLUDED.updated_at
"""
_USER_TAGS = "SELECT tags FROM user_tags WHERE app_id = $1 AND user_id = $2"
_SAVE_USER_TAGS = """
INSERT INTO user_tags (app_id, user_id, tags, updated_at) VALUES ($1, $2, $3::jsonb, $4)
ON CONFLICT (app_id, user_id) DO UPDATE SET tags = EXCLUDED.tags, updated_at = EXCLUDED.updated_at
"""

# One page of a stream: the next users (by id, after the cursor) with a matching active device,
# then every matching active device of those users, so a user's devices never straddle two pages.
_PAGE = """
WITH page AS (
    SELECT DISTINCT d.user_id FROM devices d
    WHERE d.app_id = $1 AND d.active AND d.user_id > $2 AND {match}
    ORDER BY d.user_id LIMIT $3
)
SELECT d.user_id, d.device_id FROM devices d
WHERE d.app_id = $1 AND d.active AND d.user_id IN (SELECT user_id FROM page) AND {match}
ORDER BY d.user_id, d.device_id
"""

_PROGRESS = """
SELECT after_user_id, users, devices, finished_at IS NOT NULL AS finished
FROM audience_streams WHERE notification_id = $1
"""
_ADVANCE = """
INSERT INTO audience_streams AS s (notification_id, app_id, after_user_id, users, devices,
                                   updated_at, finished_at)
VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7::boolean THEN $6::timestamptz END)
ON CONFLICT (notification_id) DO UPDATE SET
    after_user_id = EXCLUDED.after_user_id, users = EXCLUDED.users, devices = EXCLUDED.devices,
    updated_at = EXCLUDED.updated_at, finished_at = EXCLUDED.finished_at
WHERE s.finished_at IS NULL AND EXCLUDED.users >= s.users
"""
_PRUNE_STREAMS = """
WITH gone AS (
    DELETE FROM audience_streams WHERE notification_id IN (
        SELECT notification_id FROM audience_streams WHERE finished_at < $1 LIMIT $2
    ) RETURNING 1
) SELECT count(*) FROM gone
"""

TagChange = Callable[[Mapping[str, str]], dict[str, str]]


class AudienceStore:
    """Devices' topics, users' and devices' tags, and pages of an audience's devices."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def change_topics(
        self,
        device_id: uuid.UUID,
        subscribe: Collection[str],
        unsubscribe: Collection[str],
        now: datetime,
        *,
        limit: int,
    ) -> list[str]:
        """Subscribe and unsubscribe the device (a topic in both lists ends unsubscribed); its
        topics after. LimitReached, and nothing changed, past ``limit`` topics."""
        async with transaction(self.pool) as conn:
            await conn.execute(_LOCK, f"topics/{device_id}")
            await conn.execute(_SUBSCRIBE, device_id, list(subscribe), now)
            await conn.execute(_UNSUBSCRIBE, device_id, list(unsubscribe))
            topics: list[str] = [row["topic"] for row in await conn.fetch(_TOPICS_OF, device_id)]
            check_topic_count(len(topics), limit, "device")
        return topics

    async def change_user_topics(
        self,
        app_id: str,
        user_id: str,
        subscribe: Collection[str],
        unsubscribe: Collection[str],
        now: datetime,
        *,
        limit: int,
    ) -> list[str]:
        """Subscribe and unsubscribe the user (a topic in both lists ends unsubscribed); their
        topics after. LimitReached, and nothing changed, past ``limit`` topics."""
        async with transaction(self.pool) as conn:
            await conn.execute(_LOCK, f"topics/{app_id}/{user_id}")
            await conn.execute(_SUBSCRIBE_USER, app_id, user_id, list(subscribe), now)
            await conn.execute(_UNSUBSCRIBE_USER, app_id, user_id, list(unsubscribe))
            rows = await conn.fetch(_USER_TOPICS, app_id, user_id)
            topics: list[str] = [row["topic"] for row in rows]
            check_topic_count(len(topics), limit, "user")
        return topics

    async def user_topics(self, app_id: str, user_id: str) -> list[str]:
        """The user's own topics (not their devices'), in name order."""
        return [row["topic"] for row in await self.pool.fetch(_USER_TOPICS, app_id, user_id)]

    async def topics_of(self, device_id: uuid.UUID) -> list[str]:
        """The device's topics, in name order."""
        return [row["topic"] for row in await self.pool.fetch(_TOPICS_OF, device_id)]

    async def device_tags(self, device_id: uuid.UUID) -> dict[str, str]:
        return _tags(await self.pool.fetchval(_DEVICE_TAGS, device_id))

    async def user_tags(self, app_id: str, user_id: str) -> dict[str, str]:
        return _tags(await self.pool.fetchval(_USER_TAGS, app_id, user_id))

    async def change_device_tags(
        self, device_id: uuid.UUID, change: TagChange, now: datetime
    ) -> dict[str, str]:
        """Save ``change(current tags)`` for the device (it may raise to refuse); the result."""
        async with transaction(self.pool) as conn:
            await conn.execute(_LOCK, f"tags/{device_id}")
            tags = change(_tags(await conn.fetchval(_DEVICE_TAGS, device_id)))
            await conn.execute(_SAVE_DEVICE_TAGS, device_id, json.dumps(tags), now)
        return tags

    async def change_user_tags(
        self, app_id: str, user_id: str, change: TagChange, now: datetime
    ) -> dict[str, str]:
        """Save ``change(current tags)`` for the user (it may raise to refuse); the result."""
        async with transaction(self.pool) as conn:
            await conn.execute(_LOCK, f"tags/{app_id}/{user_id}")
            tags = change(_tags(await conn.fetchval(_USER_TAGS, app_id, user_id)))
            await conn.execute(_SAVE_USER_TAGS, app_id, user_id, json.dumps(tags), now)
        return tags

    async def page(
        self, app_id: str, match: tuple[str, list[object]], *, after: str, users: int
    ) -> list[Match]:
        """The matching active devices of the app's next ``users`` users after the user id
        ``after`` (keyset order), sorted by user and device."""
        sql, params = match
        query = _PAGE.format(match=sql)  # only matching's fixed SQL text; values are parameters
        rows = await self.pool.fetch(query, app_id, after, users, *params)
        return [Match(row["user_id"], row["device_id"]) for row in rows]

    async def progress(self, notification_id: uuid.UUID) -> Progress:
        """How far the notification's audience was streamed (from the start when never)."""
        row = await self.pool.fetchrow(_PROGRESS, notification_id)
        if row is None:
            return Progress()
        return Progress(row["after_user_id"], row["users"], row["devices"], row["finished"])

    async def advance(
        self, app_id: str, notification_id: uuid.UUID, progress: Progress, now: datetime
    ) -> None:
        """Record ``progress`` once its pages are on the broker. It never moves back nor
        un-finishes, should two replicas briefly stream the same audience after a rebalance."""
        await self.pool.execute(
            _ADVANCE,
            notification_id,
            app_id,
            progress.after,
            progress.users,
            progress.devices,
            now,
            progress.finished,
        )

    async def prune_streams(self, before: datetime, limit: int) -> int:
        """Forget up to ``limit`` streams finished before ``before``; how many went."""
        gone: int = await self.pool.fetchval(_PRUNE_STREAMS, before, limit)
        return gone


def _tags(stored: str | None) -> dict[str, str]:
    return {} if stored is None else dict(json.loads(stored))
