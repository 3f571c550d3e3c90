"""Kafka settings: production knobs, TLS and SASL checked together, and one set of client options
for aiokafka clients and the FastStream broker alike."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
from faststream.kafka.security import parse_security
from faststream.security import SASLPlaintext, SASLScram256, SASLScram512
from pydantic import SecretStr, ValidationError

from contracts import topics
from services.emulators.tls import create_ca
from shared.kafka.clients import broker_security, client_options
from shared.settings import KafkaSettings, SaslMechanism

pytestmark = pytest.mark.unit


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    ca = create_ca(tmp_path)
    client = ca.issue_client(tmp_path, "herald", uid="herald")
    return {"ca": ca.cert_path, "cert": client.cert, "key": client.key}


def test_defaults_suit_the_embedded_broker_and_production_flips_a_few() -> None:
    local = KafkaSettings()
    production = KafkaSettings(kafka_replication_factor=3)

    assert (local.kafka_replication_factor, local.min_insync_replicas) == (1, 1)
    assert production.min_insync_replicas == 2
    assert local.kafka_idempotence
    assert local.kafka_create_topics
    assert client_options(local)["security_protocol"] == "PLAINTEXT"
    assert broker_security(local) is None


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERALD_KAFKA_PARTITIONS", '{"push.fcm": 24}')
    monkeypatch.setenv("HERALD_KAFKA_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("HERALD_KAFKA_MIN_INSYNC_REPLICAS", "3")
    monkeypatch.setenv("HERALD_KAFKA_CREATE_TOPICS", "false")

    settings = KafkaSettings()

    assert settings.partitions_of(topics.PUSH["fcm"]) == 24
    assert settings.partitions_of(topics.PUSH["apns"]) == topics.PUSH["apns"].partitions
    assert settings.min_insync_replicas == 3
    assert not settings.kafka_create_topics


def test_a_broker_list_reaches_every_client_as_a_list() -> None:
    settings = KafkaSettings(kafka_bootstrap="k1:9093, k2:9093,k3:9093")

    assert client_options(settings)["bootstrap_servers"] == ["k1:9093", "k2:9093", "k3:9093"]


@pytest.mark.parametrize(
    ("mechanism", "kind"),
    [("PLAIN", SASLPlaintext), ("SCRAM-SHA-256", SASLScram256), ("SCRAM-SHA-512", SASLScram512)],
)
def test_sasl_ssl_gives_aiokafka_and_faststream_the_same_options(
    pki: dict[str, Path], mechanism: SaslMechanism, kind: type[Any]
) -> None:
    settings = KafkaSettings(
        kafka_security_protocol="SASL_SSL",
        kafka_ssl_ca_file=pki["ca"],
        kafka_ssl_cert_file=pki["cert"],
        kafka_ssl_key_file=pki["key"],
        kafka_sasl_mechanism=mechanism,
        kafka_sasl_username="herald",
        kafka_sasl_password=SecretStr("s3cret"),
    )

    options = client_options(settings)
    security = broker_security(settings)

    assert isinstance(security, kind)
    through_faststream = parse_security(security)
    for name in ("security_protocol", "sasl_mechanism", "sasl_plain_username"):
        assert through_faststream[name] == options[name]
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_plain_password"] == "s3cret"
    context = options["ssl_context"]
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_sasl_without_tls_has_no_tls_context() -> None:
    settings = KafkaSettings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="herald",
        kafka_sasl_password=SecretStr("s3cret"),
    )

    assert client_options(settings)["ssl_context"] is None
    assert parse_security(broker_security(settings))["security_protocol"] == "SASL_PLAINTEXT"


def test_tls_alone_trusts_the_given_ca() -> None:
    settings = KafkaSettings(kafka_security_protocol="SSL")

    assert parse_security(broker_security(settings))["security_protocol"] == "SSL"
    assert client_options(settings)["ssl_context"] is not None


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "HERALD_KAFKA_SASL_MECHANISM"),
        (
            {
                "kafka_security_protocol": "SASL_SSL",
                "kafka_sasl_mechanism": "PLAIN",
                "kafka_sasl_username": "herald",
            },
            "HERALD_KAFKA_SASL_PASSWORD",
        ),
        ({"kafka_sasl_username": "herald"}, "HERALD_KAFKA_SASL_USERNAME"),
        ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "GSSAPI"}, "sasl"),
        ({"kafka_ssl_ca_file": "CA"}, "HERALD_KAFKA_SSL_CA_FILE"),
        (
            {"kafka_security_protocol": "SSL", "kafka_ssl_key_file": "KEY"},
            "without HERALD_KAFKA_SSL_CERT_FILE",
        ),
        ({"kafka_ssl_ca_file": "/no/such/ca.pem"}, "kafka_ssl_ca_file"),
        (
            {"kafka_replication_factor": 3, "kafka_min_insync_replicas": 4},
            "HERALD_KAFKA_MIN_INSYNC_REPLICAS",
        ),
        ({"kafka_partitions": {"push.nowhere": 4}}, "push.nowhere"),
        ({"kafka_partitions": {"push.fcm": 0}}, "kafka_partitions"),
    ],
)
def test_contradictions_are_refused_naming_the_setting(
    pki: dict[str, Path], values: dict[str, Any], named: str
) -> None:
    files = {"CA": pki["ca"], "KEY": pki["key"]}
    values = {n: files[v] if isinstance(v, str) and v in files else v for n, v in values.items()}

    with pytest.raises(ValidationError, match=named):
        KafkaSettings(**values)
