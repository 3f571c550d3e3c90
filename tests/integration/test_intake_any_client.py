"""The Kafka intake as a product team meets it: a third-party client (confluent-kafka, on
librdkafka) produces to ``notifications.submitted``, signing each record with the standard
library's hmac, and reads ``notifications.rejected``, following only what the README's "Sending
through Kafka" section says. Ingest runs on the system clock, so the example's times are given as a
sender gives them: relative to the moment of sending.

The consumers use ``assign()``: librdkafka's group join stalls on the embedded broker.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from pydantic import SecretStr

from contracts import topics
from contracts.categories import Category
from contracts.topics import Topic
from services.ingest.app import build
from services.ingest.settings import IngestSettings
from shared.embedded.brokers import LocalBroker
from shared.embedded.ports import free_port
from shared.embedded.postgres import EmbeddedPostgres
from shared.runtime import prepare_topics
from shared.secrets import SecretBox, new_secrets_key
from shared.tenancy.auth import key_digest, new_api_key
from tests.support.intake import IntakeKey, announce_intake_keys
from tests.support.kafka import kafka_settings_for_test
from tests.support.services import running

pytestmark = pytest.mark.integration

EXAMPLE = Path(topics.__file__).parent / "examples" / "notification.submitted.v1.json"
READ_TIMEOUT_SECONDS = 30.0
HEADERS: list[tuple[str, str | bytes | None]] = [("content-type", b"application/json")]
Record = dict[str, Any]


def as_sent_now(example: Record, now: datetime) -> Record:
    """The example as a sender builds it at ``now``: a fresh event id, idempotency key and
    ``occurred_at``, and every schedule time moved by whole days to fall tomorrow, keeping its
    time of day (a fixed date in a committed example lapses; the sender's clock decides)."""
    event = {
        **example,
        "event_id": str(uuid.uuid4()),
        "idempotency_key": f"{example['idempotency_key']}-{uuid.uuid4().hex[:8]}",
        "occurred_at": now.isoformat(),
    }
    schedule = dict(event.get("schedule") or {})
    first = schedule.get("send_at") or schedule.get("local_time")
    if first is not None:
        shift = timedelta(days=(now.date() - datetime.fromisoformat(first).date()).days + 1)
        for name in ("send_at", "local_time", "expires_at"):
            if schedule.get(name) is not None:
                schedule[name] = (datetime.fromisoformat(schedule[name]) + shift).isoformat()
        event["schedule"] = schedule
    return event


def read_with_assign(
    bootstrap: str, name: str, partitions: int, until: Callable[[list[Record]], bool]
) -> list[Record]:
    """Read topic ``name`` from its beginning with a plain consumer until ``until(records)``;
    each record as {key, value, headers}. Blocking: run it in a thread."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.assign([TopicPartition(name, p, 0) for p in range(partitions)])
    found: list[Record] = []
    deadline = time.monotonic() + READ_TIMEOUT_SECONDS
    try:
        while not until(found):
            if time.monotonic() > deadline:
                raise AssertionError(f"{name}: condition not met; read {len(found)} records")
            message = consumer.poll(0.2)
            if message is None:
                continue
            if message.error() is not None:
                raise AssertionError(f"{name}: {message.error()}")
            found.append(
                {"key": message.key(), "value": message.value(), "headers": message.headers()}
            )
    finally:
        consumer.close()
    return found


def signed(value: bytes, intake_key: IntakeKey) -> list[tuple[str, str | bytes | None]]:
    """The documented headers and the record's signature, computed as the README shows."""
    digest = hmac.new(intake_key.secret.encode(), value, hashlib.sha256).hexdigest()
    return [*HEADERS, ("herald-signature", f"v1={intake_key.key_id}:{digest}".encode())]


def produce(
    bootstrap: str, name: str, records: list[tuple[bytes, bytes]], intake_key: IntakeKey
) -> None:
    """Produce ``(key, value)`` records with the documented headers, signed; fail unless every one
    is acknowledged. Blocking: run it in a thread."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    failures: list[str] = []

    def delivered(error: KafkaError | None, _message: object) -> None:
        if error is not None:
            failures.append(str(error))

    for key, value in records:
        producer.produce(
            name,
            value=value,
            key=key,
            headers=signed(value, intake_key),
            on_delivery=delivered,
        )
    left = producer.flush(READ_TIMEOUT_SECONDS)
    assert left == 0, f"{left} records not acknowledged"
    assert not failures, failures


class Intake:
    """Ingest with the example's app, and the broker names of the topics a sender touches."""

    def __init__(self, bootstrap: str, prefix: str, intake_key: IntakeKey) -> None:
        self.bootstrap = bootstrap
        self.prefix = prefix
        self.intake_key = intake_key

    def name(self, topic: Topic) -> str:
        return f"{self.prefix}{topic.name}"

    async def send(self, *records: tuple[bytes, bytes]) -> None:
        await asyncio.to_thread(
            produce, self.bootstrap, self.name(topics.SUBMITTED), [*records], self.intake_key
        )

    async def read(self, topic: Topic, until: Callable[[list[Record]], bool]) -> list[Record]:
        return await asyncio.to_thread(
            read_with_assign, self.bootstrap, self.name(topic), topic.partitions, until
        )


@pytest.fixture
async def intake(broker: LocalBroker, postgres: EmbeddedPostgres) -> AsyncIterator[Intake]:
    example = json.loads(EXAMPLE.read_text())
    kafka = kafka_settings_for_test(broker.bootstrap)
    settings = IngestSettings(
        **kafka.model_dump(),
        database_dsn=SecretStr(postgres.dsn),
        secrets_keys=[SecretStr(new_secrets_key())],
        http_port=free_port(),
        api_keys={example["app_id"]: [key_digest(new_api_key())]},
    )
    await prepare_topics(kafka)  # apps.changed must exist before the key is announced on Kafka
    # The app as the registry would announce it, with the category the example names.
    category = Category(category_id=example["category"], name="Order updates")
    keys = await announce_intake_keys(
        kafka, SecretBox(settings), example["app_id"], categories=[category]
    )
    async with running(await build(settings)):
        yield Intake(broker.bootstrap, kafka.topic_prefix, keys[example["app_id"]])


async def test_a_third_party_client_sends_the_example_and_reads_the_refusal(
    intake: Intake,
) -> None:
    event = as_sent_now(json.loads(EXAMPLE.read_text()), datetime.now(UTC))
    good_key = event["idempotency_key"].encode()
    malformed = {**event, "idempotency_key": "broken-1", "audience": {"user_ids": []}}
    del malformed["content"]
    bad_value = json.dumps(malformed).encode()

    await intake.send((good_key, json.dumps(event).encode()), (b"broken-1", bad_value))

    accepted = await intake.read(
        topics.USER,
        lambda found: (
            {json.loads(r["value"])["user_id"] for r in found} >= set(event["audience"]["user_ids"])
        ),
    )
    rejected = await intake.read(topics.REJECTED, lambda found: len(found) >= 1)

    refusal = json.loads(rejected[0]["value"])
    assert refusal["type"] == "notification.rejected"
    assert refusal["idempotency_key"] == "broken-1"
    assert refusal["app_id"] == event["app_id"]
    assert "content: Field required" in refusal["reason"]
    assert "audience.user_ids" in refusal["reason"]
    assert base64.b64decode(refusal["source"]["key"]) == b"broken-1"
    assert base64.b64decode(refusal["source"]["value"]) == bad_value
    assert refusal["source"]["topic"] == intake.name(topics.SUBMITTED)
    assert ("content-type", b"application/json") in rejected[0]["headers"]
    copies = [json.loads(r["value"]) for r in accepted]
    assert {c["app_id"] for c in copies} == {event["app_id"]}
    assert len({c["notification_id"] for c in copies}) == 1
    assert all(r["key"] == json.loads(r["value"])["user_id"].encode() for r in accepted)
