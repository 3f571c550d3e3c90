"""State topics outlive retention: a service starting after ``apps.changed``'s old records would
have expired still learns every app, because the catalog compacts the topic instead of deleting.

Kafka only: the embedded broker never deletes or compacts anything, so it cannot show the
difference. A week passing is played by a 100 ms retention and segment age on the topics.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import SecretStr

from contracts import topics
from contracts.apps import AppChanged
from shared.appdir import AppDirectory
from shared.apps_feed import AppsFeed
from shared.embedded.brokers import LocalBroker
from shared.kafka.admin import alter_configs, ensure_topics
from shared.kafka.clients import client_options
from shared.secrets import SecretBox, SecretsSettings, new_secrets_key
from shared.settings import KafkaSettings
from tests.support.kafka import TopicIO, kafka_settings_for_test

pytestmark = [pytest.mark.integration, pytest.mark.kafka_only]

A_WEEK_GOES_BY = {"retention.ms": "100", "segment.ms": "100"}


def app_state(app_id: str) -> AppChanged:
    return AppChanged(
        event_id=uuid.uuid4(), app_id=app_id, occurred_at=datetime.now(UTC), revision=1
    )


async def first_offset(kafka: KafkaSettings) -> int:
    consumer = AIOKafkaConsumer(**client_options(kafka), enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(kafka.address(topics.APPS), 0)
        return int((await consumer.beginning_offsets([partition]))[partition])
    finally:
        await consumer.stop()


async def until_deleted(kafka: KafkaSettings) -> None:
    """Wait until the broker's retention check has removed the first record (at most 30 s)."""
    for _ in range(150):
        if await first_offset(kafka) > 0:
            return
        await asyncio.sleep(0.2)
    raise AssertionError("retention never removed the record")


async def publish_then_age(kafka: KafkaSettings, configs: dict[str, str]) -> None:
    """An app that then stays quiet, and one published after its record's segment closed."""
    await ensure_topics(kafka, [topics.APPS])
    await alter_configs(kafka, {kafka.address(topics.APPS): configs})
    io = TopicIO(kafka)
    await io.produce(topics.APPS, app_state("quiet-app"))
    await asyncio.sleep(0.5)
    await io.produce(topics.APPS, app_state("busy-app"))


async def directory_after_start(kafka: KafkaSettings) -> AppDirectory:
    """What a service starting now learns from the topic."""
    box = SecretBox(SecretsSettings(secrets_keys=[SecretStr(new_secrets_key())]))
    directory = AppDirectory(box)
    feed = AppsFeed(kafka, directory, "compaction-test")
    await feed.start(catch_up_seconds=20)
    await feed.follower.stop()
    return directory


async def test_a_service_restarting_after_retention_still_knows_every_app(
    broker: LocalBroker,
) -> None:
    compacted = kafka_settings_for_test(broker.bootstrap)
    deleting = kafka_settings_for_test(broker.bootstrap)
    await publish_then_age(compacted, A_WEEK_GOES_BY)
    await publish_then_age(deleting, {**A_WEEK_GOES_BY, "cleanup.policy": "delete"})
    await until_deleted(deleting)

    kept = await directory_after_start(compacted)
    lost = await directory_after_start(deleting)

    assert kept.known("quiet-app")
    assert kept.known("busy-app")
    assert not lost.known("quiet-app"), "the same topic deleting by age would forget the app"
