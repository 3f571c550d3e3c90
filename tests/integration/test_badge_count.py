"""Badge-count against the real broker and PostgreSQL: one unread per notification, exactly once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from contracts import topics
from contracts.badges import ReadsReported
from contracts.content import Content
from contracts.notifications import NotificationCounted
from services.badge_count.app import MIGRATIONS, SCHEMA, build
from services.badge_count.settings import BadgeCountSettings
from shared.db import create_pool, migrate
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.ports import free_port
from shared.embedded.postgres import EmbeddedPostgres
from shared.settings import DatabaseSettings
from shared.tenancy.auth import issue_user_token, key_digest, new_api_key, new_signing_key
from tests.support.clock import FrozenClock
from tests.support.factories import due, unique
from tests.support.kafka import TopicIO, kafka_settings_for_test
from tests.support.services import running

pytestmark = pytest.mark.integration


async def test_badges_count_up_once_per_notification(
    broker: EmbeddedBroker, postgres: EmbeddedPostgres
) -> None:
    kafka = kafka_settings_for_test(broker.bootstrap)
    settings = BadgeCountSettings(
        **kafka.model_dump(), database_dsn=SecretStr(postgres.dsn), http_port=free_port()
    )
    clock = FrozenClock()
    io = TopicIO(kafka)
    user = unique("user")
    first, second = due(clock.now(), user), due(clock.now(), user)
    silent = due(clock.now(), user, content=Content(data={"sync": "1"}))

    read_early = due(clock.now(), user)
    reads = ReadsReported(
        event_id=uuid.uuid4(),
        app_id=first.app_id,
        occurred_at=clock.now(),
        user_id=user,
        notification_ids=[first.notification_id, read_early.notification_id],
    )

    async with running(await build(settings, clock)):
        await io.produce(topics.DUE, first, first, second, silent, second)
        counted = await io.read(topics.COUNTED, until=lambda found: len(found) >= 5)
        await io.produce(topics.READS, reads)
        await io.read(topics.BADGES, until=lambda found: len(found) >= 1)
        await io.produce(topics.DUE, read_early)
        steps = await io.read(topics.TRACE, until=lambda found: len(found) >= 6)

    assert sorted((s.notification_id, s.stage, s.badge, s.reason) for s in steps) == sorted(
        [
            *((first.notification_id, "counted", 1, None),) * 2,
            *((second.notification_id, "counted", 2, None),) * 2,
            (silent.notification_id, "counted", None, None),
            (read_early.notification_id, "withheld", None, "read_already"),
        ]
    )
    badges = [(c.notification_id, c.badge, c.badge_seq) for c in counted]
    assert all(isinstance(c, NotificationCounted) for c in counted)
    assert badges == [
        (first.notification_id, 1, 1),
        (first.notification_id, 1, 1),
        (second.notification_id, 2, 2),
        (silent.notification_id, None, None),
        (second.notification_id, 2, 2),
    ]


async def test_the_database_refuses_a_negative_count(postgres: EmbeddedPostgres) -> None:
    settings = DatabaseSettings(database_dsn=SecretStr(postgres.dsn))
    pool = await create_pool(settings, SCHEMA)
    try:
        await migrate(pool, SCHEMA, MIGRATIONS)
        with pytest.raises(asyncpg.CheckViolationError):
            await pool.execute(
                "INSERT INTO badges (app_id, user_id, tracked, updated_at)"
                " VALUES ('a', $1, -1, now())",
                str(uuid.uuid4()),
            )
    finally:
        await pool.close()


async def test_the_badge_api_answers_the_app_and_the_user_but_no_one_else(
    broker: EmbeddedBroker, postgres: EmbeddedPostgres
) -> None:
    key, signing_key = new_api_key(), new_signing_key()
    kafka = kafka_settings_for_test(broker.bootstrap)
    settings = BadgeCountSettings(
        **kafka.model_dump(),
        database_dsn=SecretStr(postgres.dsn),
        http_port=free_port(),
        api_keys={"testapp": [key_digest(key)]},
        app_signing_keys={"testapp": [SecretStr(signing_key)]},
    )
    clock = FrozenClock()
    io = TopicIO(kafka)
    user, stranger = f"{unique('org')}/user", unique("user")
    unread = due(clock.now(), user)
    badge_path = f"/v1/users/{quote(user, safe='')}/badge"

    def user_token(for_user: str) -> dict[str, str]:
        minted = issue_user_token(
            "testapp", for_user, signing_key, now=datetime.now(UTC), lifetime=timedelta(minutes=5)
        )
        return {"Authorization": f"Bearer {minted}"}

    async with (
        running(await build(settings, clock)),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.http_port}") as http,
    ):
        await io.produce(topics.DUE, unread)
        await io.read(topics.COUNTED, until=lambda found: len(found) >= 1)
        as_app = await http.get(badge_path, headers={"Authorization": f"Bearer {key}"})
        as_user = await http.get(badge_path, headers=user_token(user))
        as_stranger = await http.get(badge_path, headers=user_token(stranger))
        anonymous = await http.get(badge_path)

    assert as_app.status_code == 200
    assert as_app.json() == as_user.json()
    assert as_user.json()["badge"] == 1
    assert as_user.json()["unread"][0]["notification_id"] == str(unread.notification_id)
    assert as_stranger.status_code == 404
    assert anonymous.status_code == 401
