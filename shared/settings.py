"""Settings every service reads from the environment (prefix ``HERALD_``).

Each service composes these with its own; a deployment sets environment variables, a test builds
the objects directly.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, FilePath, PositiveInt, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.topics import Topic, by_name

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class HeraldSettings(BaseSettings):
    """Base for every settings class: one prefix, environment first."""

    model_config = SettingsConfigDict(env_prefix="HERALD_", extra="ignore", frozen=True)


def env_name(field: str) -> str:
    """The environment variable that sets ``field``, for error messages."""
    return f"HERALD_{field.upper()}"


class KafkaSettings(HeraldSettings):
    """How to reach the broker, how to create topics on it, and how to consume from it.

    The defaults suit the embedded broker and a one-node trial; a production cluster sets the
    replication factor, TLS and SASL (see deploy/README.md). Producers always use acks=all.
    """

    kafka_bootstrap: str = Field(default="127.0.0.1:9092", description="host:port[,host:port]")
    kafka_idempotence: bool = Field(
        default=True,
        description="Idempotent producer, so the producer's own retries never duplicate. The "
        "embedded broker refuses it: the local stack and the tests on it turn it off.",
    )
    kafka_replication_factor: int = Field(
        default=1,
        ge=1,
        description="Replicas of each topic Herald creates: 1 for the embedded broker or a single "
        "node, 3 on a production cluster.",
    )
    kafka_min_insync_replicas: int | None = Field(
        default=None,
        ge=1,
        description="min.insync.replicas of each topic Herald creates: replicas that must hold a "
        "write before acks=all succeeds. Unset: one less than the replication factor, at least 1.",
    )
    kafka_partitions: dict[str, PositiveInt] = Field(
        default_factory=dict,
        description="Partition counts by catalog topic name over the catalog's, as JSON such as "
        '{"push.fcm": 32}. They apply when a topic is created; adding partitions later would move '
        "keys between partitions, so `herald topics apply` refuses to.",
    )
    kafka_create_topics: bool = Field(
        default=True,
        description="Services create missing topics at start-up. Off where operators own topics "
        "(`herald topics plan` prints what they need).",
    )
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    kafka_ssl_ca_file: FilePath | None = Field(
        default=None, description="PEM CA bundle the brokers' certificates chain to (TLS)."
    )
    kafka_ssl_cert_file: FilePath | None = Field(
        default=None, description="PEM client certificate (may hold the key too) for mutual TLS."
    )
    kafka_ssl_key_file: FilePath | None = Field(default=None, description="PEM client key.")
    kafka_ssl_key_password: SecretStr | None = None
    kafka_sasl_mechanism: SaslMechanism | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    topic_prefix: str = Field(default="", description="Prepended to every catalog topic name.")
    consumer_max_records: int = Field(default=500, ge=1, le=10_000)
    consumer_batch_timeout_ms: int = Field(default=20, ge=1, le=5_000)
    consumer_fetch_max_wait_ms: int = Field(
        default=500,
        ge=1,
        le=5_000,
        description="Longest a fetch waits on the broker for records. Kafka answers as soon as "
        "records arrive; the embedded broker does not (~100 ms late at 500), so the local stack "
        "sets a short wait, paid for with idle fetches.",
    )
    session_timeout_ms: int = Field(default=10_000, ge=1_000)
    heartbeat_interval_ms: int = Field(default=3_000, ge=100)
    consumer_fetch_max_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        description="About the most bytes a consumer holds read ahead, shared by its topic's "
        "partitions: one fetch asks for this divided by the partition count, at least 64 KiB (a "
        "larger record still comes whole). The embedded broker ignores the per-partition limit "
        "(aiokafka's 50 MiB default let a dispatcher grow ~60 MB with a backlog; the whole "
        "budget per partition, ~55 MB; make bench).",
    )
    producer_linger_ms: int = Field(default=2, ge=0, le=1_000)
    max_message_bytes: int = Field(default=1_048_576, ge=1024)
    handler_max_attempts: int = Field(
        default=5,
        ge=1,
        description="Attempts before a message that keeps failing is dead-lettered.",
    )
    shutdown_drain_seconds: float = Field(
        default=20.0,
        gt=0,
        le=600,
        description="On SIGTERM, how long consumers may finish the batches they hold (and HTTP "
        "requests and background loops their work) before what is left is handed back "
        "uncommitted. The process exits within this plus a second or two: keep it below the "
        "pod's terminationGracePeriodSeconds (30 s by default).",
    )

    @field_validator("kafka_partitions")
    @classmethod
    def _catalog_topics_only(cls, counts: dict[str, int]) -> dict[str, int]:
        for name in counts:
            try:
                by_name(name)
            except KeyError:
                raise ValueError(
                    f"{env_name('kafka_partitions')}: {name!r} is not a topic of the catalog"
                ) from None
        return counts

    @model_validator(mode="after")
    def _consistent(self) -> KafkaSettings:
        problems = _security_problems(self)
        if self.kafka_min_insync_replicas is not None and (
            self.kafka_min_insync_replicas > self.kafka_replication_factor
        ):
            problems.append(
                f"{env_name('kafka_min_insync_replicas')}={self.kafka_min_insync_replicas} is more "
                f"than {env_name('kafka_replication_factor')}={self.kafka_replication_factor}: "
                "no write could ever succeed"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def min_insync_replicas(self) -> int:
        """The setting, or one less than the replication factor (2 of 3), at least 1."""
        if self.kafka_min_insync_replicas is not None:
            return self.kafka_min_insync_replicas
        return max(1, self.kafka_replication_factor - 1)

    def partitions_of(self, topic: Topic) -> int:
        """The partition count this deployment gives ``topic``."""
        return self.kafka_partitions.get(topic.name, topic.partitions)

    def address(self, topic: Topic) -> str:
        """The topic's name on the broker: the catalog name behind this deployment's prefix."""
        return f"{self.topic_prefix}{topic.name}"


def _security_problems(settings: KafkaSettings) -> list[str]:
    """Each TLS or SASL setting that contradicts the security protocol, in words."""
    protocol = settings.kafka_security_protocol
    protocol_name = f"{env_name('kafka_security_protocol')}={protocol}"
    problems = []
    sasl = {
        "kafka_sasl_mechanism": settings.kafka_sasl_mechanism,
        "kafka_sasl_username": settings.kafka_sasl_username,
        "kafka_sasl_password": settings.kafka_sasl_password,
    }
    if protocol.startswith("SASL_"):
        problems += [f"{protocol_name} needs {env_name(n)}" for n, v in sasl.items() if v is None]
    else:
        problems += [
            f"{env_name(n)} is set but {protocol_name} does not authenticate with SASL "
            "(use SASL_SSL)"
            for n, v in sasl.items()
            if v is not None
        ]
    tls = {
        "kafka_ssl_ca_file": settings.kafka_ssl_ca_file,
        "kafka_ssl_cert_file": settings.kafka_ssl_cert_file,
        "kafka_ssl_key_file": settings.kafka_ssl_key_file,
        "kafka_ssl_key_password": settings.kafka_ssl_key_password,
    }
    if not protocol.endswith("SSL"):
        problems += [
            f"{env_name(n)} is set but {protocol_name} does not use TLS (use SSL or SASL_SSL)"
            for n, v in tls.items()
            if v is not None
        ]
    elif settings.kafka_ssl_cert_file is None:
        problems += [
            f"{env_name(n)} is set without {env_name('kafka_ssl_cert_file')}"
            for n in ("kafka_ssl_key_file", "kafka_ssl_key_password")
            if tls[n] is not None
        ]
    return problems


class DatabaseSettings(HeraldSettings):
    """PostgreSQL: every service owns one schema in it and reads no other."""

    database_dsn: SecretStr = Field(default=SecretStr("postgresql://postgres@127.0.0.1/postgres"))
    database_pool_min: int = Field(default=1, ge=0)
    database_pool_max: int = Field(default=10, ge=1)


class HttpSettings(HeraldSettings):
    """Where a service's HTTP endpoint listens (its API, or health checks only)."""

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)


class EventLoopSettings(HeraldSettings):
    """Which event loop a service process runs on."""

    event_loop: Literal["asyncio", "uvloop"] = Field(
        default="uvloop",
        description="uvloop (libuv under asyncio's API) or asyncio's own loop, read where the "
        "process creates its loop. uvloop cost every service less CPU per delivery (dispatchers "
        "alone 4-35% less, the broadcast path 4-10% less; issue 19); asyncio is the fallback.",
    )


class ObservabilitySettings(HeraldSettings):
    """Logging and tracing."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    trace_exporter: Literal["none", "console", "otlp"] = Field(
        default="none",
        description="Where spans go: nowhere (tracing off), stdout, or an OTLP/HTTP collector.",
    )
    trace_otlp_endpoint: str | None = Field(
        default=None,
        description="The collector's traces URL for the otlp exporter, such as "
        "http://collector:4318/v1/traces. Unset: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or "
        "OTEL_EXPORTER_OTLP_ENDPOINT, else http://localhost:4318/v1/traces.",
    )
