"""TLS and SASL on every Kafka client Herald makes, against Apache Kafka with a SASL_SSL listener.

Kafka only: the embedded broker has no TLS or SASL listener, so this cannot run on it. One
service-level path per mechanism: the admin client creates the topics, the Bus publishes (acks=all,
idempotent), a consumer group consumes, the topic follower rebuilds an app directory, and
``herald topics plan`` reads the cluster back; a wrong password is refused with a clear error.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from contracts import topics
from contracts.apps import AppChanged
from contracts.base import derived_id
from contracts.notifications import NotificationDue
from services.emulators.tls import create_ca
from shared.embedded.kafka import KafkaCluster, SaslSslListener, start_kafka
from shared.embedded.ports import free_port
from shared.http import create_http_app
from shared.kafka import Received, Rejection, create_bus, subscribe
from shared.kafka.admin import ensure_topics
from shared.kafka.clients import BrokerAccessError
from shared.kafka.follower import TopicFollower
from shared.kafka.topics_cli import plan
from shared.runtime import ServiceParts, prepare_topics
from shared.secrets import SecretBox, SecretsSettings, new_secrets_key
from shared.settings import HttpSettings, KafkaSettings, SaslMechanism
from shared.tenancy.announcements import AppsSignature
from shared.tenancy.directory import AppDirectory
from shared.tenancy.feed import AppsFeed
from tests.support.clock import FrozenClock
from tests.support.factories import user_notification
from tests.support.kafka import TopicIO, kafka_settings_for_test
from tests.support.services import running

pytestmark = [pytest.mark.integration, pytest.mark.kafka_only]

USER = "herald"


@dataclass(frozen=True)
class SecureKafka:
    cluster: KafkaCluster
    ca_file: Path
    password: str


@pytest.fixture(scope="module")
def secure_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureKafka]:
    """A one-node cluster whose SASL_SSL listener has a certificate from a CA made here."""
    folder = tmp_path_factory.mktemp("kafka-tls")
    ca = create_ca(folder)
    server = ca.issue_server(folder, "kafka")
    keystore = folder / "keystore.pem"
    keystore.write_bytes(server.key.read_bytes() + server.cert.read_bytes())
    password = secrets.token_urlsafe(16)
    cluster = start_kafka(1, sasl_ssl=SaslSslListener(keystore, ca.cert_path, {USER: password}))
    try:
        yield SecureKafka(cluster, ca.cert_path, password)
    finally:
        cluster.stop()


def secure_settings(
    secure: SecureKafka, mechanism: SaslMechanism, password: str | None = None
) -> KafkaSettings:
    return kafka_settings_for_test(
        secure.cluster.secure_bootstrap,
        kafka_security_protocol="SASL_SSL",
        kafka_ssl_ca_file=secure.ca_file,
        kafka_sasl_mechanism=mechanism,
        kafka_sasl_username=USER,
        kafka_sasl_password=SecretStr(password or secure.password),
    )


class Collecting:
    """A consumer-group handler that remembers the users it saw."""

    def __init__(self, expected: int) -> None:
        self.users: list[str] = []
        self.expected = expected
        self.all_seen = asyncio.Event()

    async def __call__(self, batch: Sequence[Received[NotificationDue]]) -> Sequence[Rejection]:
        self.users += [item.message.user_id for item in batch]
        if len(self.users) >= self.expected:
            self.all_seen.set()
        return ()


def due(clock: FrozenClock, user_id: str) -> NotificationDue:
    base = user_notification(clock.now(), user_id=user_id)
    return NotificationDue(
        **base.model_dump(exclude={"type", "version", "event_id"}),
        event_id=derived_id(base.event_id, "due"),
        due_at=clock.now(),
    )


def app_state(app_id: str) -> AppChanged:
    return AppChanged(
        event_id=uuid.uuid4(),
        app_id=app_id,
        occurred_at=datetime.now(UTC),
        revision=1,
        name="Over SASL_SSL",
    )


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
async def test_every_client_works_over_sasl_ssl(
    secure_kafka: SecureKafka, mechanism: SaslMechanism
) -> None:
    kafka = secure_settings(secure_kafka, mechanism)
    assert kafka.kafka_idempotence
    clock = FrozenClock()
    await prepare_topics(kafka)
    bus = create_bus(kafka, client_id="sasl-test")
    handler = Collecting(expected=2)
    subscribe(bus, topics.DUE, group="sasl-test", handler=handler, clock=clock)
    parts = ServiceParts(
        name="sasl-test",
        bus=bus,
        http_app=create_http_app(title="t", description="t"),
        http=HttpSettings(http_port=free_port()),
    )
    app_id = f"app-{uuid.uuid4().hex[:8]}"
    box = SecretBox(SecretsSettings(secrets_keys=[SecretStr(new_secrets_key())]))
    directory = AppDirectory(box)

    async with running(parts):
        await bus.publish_all(
            [(topics.APPS, app_state(app_id)), (topics.DUE, due(clock, "bus"))],
            signer=AppsSignature(box).headers,
        )
        await TopicIO(kafka).produce(topics.DUE, due(clock, "producer"))
        feed = AppsFeed(kafka, directory, "sasl-test")
        await feed.start(catch_up_seconds=20)
        await feed.follower.stop()
        await asyncio.wait_for(handler.all_seen.wait(), timeout=20)
        read_back = await TopicIO(kafka).read(topics.DUE, until=lambda found: len(found) >= 2)

    assert directory.known(app_id)
    assert sorted(handler.users) == ["bus", "producer"]
    assert sorted(m.user_id for m in read_back) == ["bus", "producer"]
    assert (await plan(kafka)).left == []


async def test_a_wrong_password_is_refused_with_a_clear_error(secure_kafka: SecureKafka) -> None:
    kafka = secure_settings(secure_kafka, "SCRAM-SHA-512", password="not-the-password")

    with pytest.raises(BrokerAccessError, match=r"SaslAuthenticationFailed.*SCRAM-SHA-512"):
        await ensure_topics(kafka, [topics.DUE])
    with pytest.raises(BrokerAccessError, match="invalid credentials"):
        await TopicFollower(kafka, topics.APPS, client_id="sasl-test").start()
