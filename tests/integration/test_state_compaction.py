"""State topics outlive retention: a service starting after the old records of ``apps.changed`` or
``users.preferences`` would have expired still learns every app's and every user's newest state,
because the catalog compacts those topics instead of deleting by age.

Kafka only: the embedded broker never deletes or compacts anything, so it cannot show the
difference. A week passing is played by a 100 ms retention and segment age on the topics; a record
published after that closes the segment the older ones sit in, so the broker may clean it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from pydantic import SecretStr

from contracts import topics
from contracts.apps import ApiKeyEntry, AppChanged
from contracts.base import Model
from contracts.topics import Topic
from contracts.users import UserPreferences
from services.scheduler.app import SCHEMA
from shared.embedded.brokers import LocalBroker
from shared.embedded.postgres import EmbeddedPostgres
from shared.kafka.admin import alter_configs, ensure_topics
from shared.kafka.clients import client_options
from shared.kafka.follower import TopicFollower
from shared.secrets import SecretBox, SecretsSettings, new_secrets_key
from shared.settings import KafkaSettings
from shared.tenancy.announcements import AppsSignature
from shared.tenancy.auth import key_digest
from shared.tenancy.directory import AppDirectory
from shared.tenancy.feed import AppsFeed
from tests.support.clock import FrozenClock
from tests.support.kafka import TopicIO, kafka_settings_for_test
from tests.support.registry import eventually
from tests.support.scheduler import fresh_database, running_scheduler

pytestmark = [pytest.mark.integration, pytest.mark.kafka_only]

BOX = SecretBox(SecretsSettings(secrets_keys=[SecretStr(new_secrets_key())]))
ANNOUNCEMENTS = AppsSignature(BOX)
A_WEEK_GOES_BY = {"retention.ms": "100", "segment.ms": "100"}
#: Longer than the segment age above, so the next record lands in a new segment.
SEGMENT_AGE_SECONDS = 0.5
QUIET_APPS = [f"quiet-app-{n}" for n in range(5)]
REVISIONS = (1, 2, 3)
#: The same user ids in two apps: the key must name the app too, or one app's state would go.
PREFERENCE_OWNERS = [(app, f"user-{n}") for app in ("app-a", "app-b") for n in range(3)]
ZONE_OF_REVISION = {1: "Europe/Paris", 2: "Asia/Tokyo", 3: "America/Chicago"}


def api_key(app_id: str, revision: int) -> str:
    return f"{app_id}-key-at-revision-{revision}"


def app_state(app_id: str, revision: int = 1) -> AppChanged:
    """The app's whole state at ``revision``: one API key, replaced at each revision."""
    key = ApiKeyEntry(
        key_id=uuid.uuid4(), digest=key_digest(api_key(app_id, revision)), scopes=["send"]
    )
    return AppChanged(
        event_id=uuid.uuid4(),
        app_id=app_id,
        occurred_at=datetime.now(UTC),
        revision=revision,
        api_keys=[key],
    )


def preferences(app_id: str, user_id: str, revision: int) -> UserPreferences:
    return UserPreferences(
        event_id=uuid.uuid4(),
        app_id=app_id,
        occurred_at=datetime.now(UTC),
        user_id=user_id,
        revision=revision,
        time_zone=ZONE_OF_REVISION[revision],
    )


async def first_offset(kafka: KafkaSettings, topic: Topic) -> int:
    consumer = AIOKafkaConsumer(**client_options(kafka), enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(kafka.address(topic), 0)
        return int((await consumer.beginning_offsets([partition]))[partition])
    finally:
        await consumer.stop()


async def records(kafka: KafkaSettings, topic: Topic) -> list[ConsumerRecord]:
    """Everything the topic holds now, from its beginning."""
    found: list[ConsumerRecord] = []
    follower = TopicFollower(kafka, topic, client_id="compaction-test")
    await follower.start()
    try:
        async with asyncio.timeout(10):
            await follower.catch_up(found.append)
    finally:
        await follower.stop()
    return found


async def until_deleted(kafka: KafkaSettings, topic: Topic) -> None:
    """Wait until the broker's retention check has removed the first record (at most 30 s)."""
    for _ in range(150):
        if await first_offset(kafka, topic) > 0:
            return
        await asyncio.sleep(0.2)
    raise AssertionError("retention never removed the record")


async def until_compacted(kafka: KafkaSettings, topic: Topic, keys: int) -> list[ConsumerRecord]:
    """Wait until the log cleaner has left one record per key (at most 30 s); those records."""
    for _ in range(150):
        found = await records(kafka, topic)
        if len(found) == keys:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"the cleaner left {len(found)} records for {keys} keys")


async def publish_then_age(
    kafka: KafkaSettings,
    topic: Topic,
    configs: dict[str, str],
    old: Sequence[Model],
    newest: Model,
) -> None:
    """``old`` states, then ``newest`` once their segment is older than retention and rolls;
    apps' states signed as the registry signs them."""
    await ensure_topics(kafka, [topic])
    await alter_configs(kafka, {kafka.address(topic): configs})
    io = TopicIO(kafka, ANNOUNCEMENTS.headers if topic is topics.APPS else None)
    await io.produce(topic, *old)
    await asyncio.sleep(SEGMENT_AGE_SECONDS)
    await io.produce(topic, newest)


async def directory_after_start(kafka: KafkaSettings) -> AppDirectory:
    """What a service starting now learns from the topic."""
    directory = AppDirectory(BOX)
    feed = AppsFeed(kafka, directory, "compaction-test")
    await feed.start(catch_up_seconds=20)
    await feed.follower.stop()
    return directory


async def test_a_service_restarting_after_retention_still_knows_every_app(
    broker: LocalBroker,
) -> None:
    compacted = kafka_settings_for_test(broker.bootstrap)
    deleting = kafka_settings_for_test(broker.bootstrap)
    history = [app_state(app, revision) for revision in REVISIONS for app in QUIET_APPS]
    await publish_then_age(compacted, topics.APPS, A_WEEK_GOES_BY, history, app_state("busy-app"))
    await publish_then_age(
        deleting,
        topics.APPS,
        {**A_WEEK_GOES_BY, "cleanup.policy": "delete"},
        history,
        app_state("busy-app"),
    )
    await until_deleted(deleting, topics.APPS)
    cleaned = await until_compacted(compacted, topics.APPS, len(QUIET_APPS) + 1)

    kept = await directory_after_start(compacted)
    lost = await directory_after_start(deleting)

    newest = {
        record.key.decode(): AppChanged.model_validate_json(record.value) for record in cleaned
    }
    assert {app: state.revision for app, state in newest.items()} == {
        **dict.fromkeys(QUIET_APPS, REVISIONS[-1]),
        "busy-app": 1,
    }, "the cleaner kept the newest state of every app and nothing older"
    for app in QUIET_APPS:
        assert kept.known(app)
        assert kept.grant_for(api_key(app, REVISIONS[-1])) is not None
        assert kept.grant_for(api_key(app, REVISIONS[0])) is None, "an old state came back"
        assert not lost.known(app), "the same topic deleting by age would forget the app"
    assert kept.known("busy-app")


async def test_a_scheduler_starting_after_retention_still_has_every_users_preferences(
    broker: LocalBroker, postgres: EmbeddedPostgres
) -> None:
    kafka = kafka_settings_for_test(broker.bootstrap, kafka_partitions={"users.preferences": 1})
    history = [
        preferences(app, user, revision)
        for revision in REVISIONS
        for app, user in PREFERENCE_OWNERS
    ]
    latecomer = preferences("app-c", "user-late", 1)
    await publish_then_age(kafka, topics.PREFERENCES, A_WEEK_GOES_BY, history, latecomer)
    await until_compacted(kafka, topics.PREFERENCES, len(PREFERENCE_OWNERS) + 1)

    dsn = await fresh_database(postgres.dsn)
    wanted = dict.fromkeys(PREFERENCE_OWNERS, (REVISIONS[-1], ZONE_OF_REVISION[REVISIONS[-1]]))
    wanted[("app-c", "user-late")] = (1, ZONE_OF_REVISION[1])
    stored: dict[tuple[str, str], tuple[int, str]] = {}

    async def holds_every_users_newest() -> bool:
        connection = await asyncpg.connect(dsn, server_settings={"search_path": SCHEMA})
        try:
            rows = await connection.fetch(
                "SELECT app_id, user_id, revision, time_zone FROM user_preferences"
            )
        finally:
            await connection.close()
        stored.clear()
        stored.update({(r["app_id"], r["user_id"]): (r["revision"], r["time_zone"]) for r in rows})
        return stored == wanted

    async with running_scheduler(kafka, dsn, FrozenClock(datetime.now(UTC))):
        await eventually(holds_every_users_newest)
    assert stored == wanted
