"""A signed send request parked on notifications.rejected goes back with ``herald dlq replay``
carrying its signature header, and ingest takes it: a replayed intake record is checked again,
not trusted. (That consumers keep a record's headers in its dead letter is test_consumer's.)"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from contracts import topics
from contracts.codec import encode
from contracts.notifications import NotificationRejected, SourceHeader, SourceRecord
from services.ingest.app import build
from services.ingest.settings import IngestSettings
from services.registry.apps.cli import main
from shared.embedded.brokers import LocalBroker
from shared.embedded.ports import free_port
from shared.embedded.postgres import EmbeddedPostgres
from shared.secrets import SecretBox, new_secrets_key
from shared.settings import env_name
from tests.support.clock import FrozenClock
from tests.support.factories import submitted, unique
from tests.support.intake import announce_intake_keys
from tests.support.kafka import TopicIO, kafka_settings_for_test
from tests.support.services import running

pytestmark = pytest.mark.integration


async def test_a_replayed_signed_request_passes_ingest_with_its_signature(
    broker: LocalBroker, postgres: EmbeddedPostgres
) -> None:
    kafka = kafka_settings_for_test(broker.bootstrap)
    settings = IngestSettings(
        **kafka.model_dump(),
        database_dsn=SecretStr(postgres.dsn),
        secrets_keys=[SecretStr(new_secrets_key())],
        http_port=free_port(),
    )
    app_id = unique("app")
    key = (await announce_intake_keys(kafka, SecretBox(settings), app_id))[app_id]
    request = submitted(datetime.now(UTC), [unique("user")], app_id=app_id)
    value = encode(request)
    signed = tuple(SourceHeader(name=n, value=v.encode()) for n, v in key.signer(value).items())
    unsigned = submitted(datetime.now(UTC), [unique("user")], app_id=app_id)
    io = TopicIO(kafka)
    await io.produce(
        topics.REJECTED,
        *(
            NotificationRejected(
                event_id=uuid.uuid4(),
                occurred_at=datetime.now(UTC),
                app_id=app_id,
                reason="app_id: unknown app",
                source=SourceRecord(
                    topic=kafka.address(topics.SUBMITTED),
                    partition=0,
                    offset=offset,
                    value=encode(message),
                    headers=headers,
                ),
            )
            for offset, message, headers in ((7, request, signed), (8, unsigned, ()))
        ),
    )
    async with running(await build(settings, FrozenClock())):
        with pytest.MonkeyPatch.context() as env:
            for field in ("kafka_bootstrap", "topic_prefix", "kafka_idempotence"):
                env.setenv(env_name(field), str(getattr(kafka, field)))
            replayed = await asyncio.to_thread(
                main, ["dlq", "replay", "notifications.rejected", "--reason", "unknown app"]
            )
        [accepted] = await io.read(topics.USER, until=lambda found: len(found) >= 1)
        rejected = await io.read(topics.REJECTED, until=lambda found: len(found) >= 3)

    assert replayed == 0
    assert [accepted.user_id] == request.audience.user_ids
    assert isinstance(rejected[2], NotificationRejected)
    assert rejected[2].source.value == encode(unsigned)
    assert rejected[2].reason.startswith("herald-signature:")
