"""Settings every service reads from the environment (prefix ``HERALD_``).

Each service composes these with its own; a deployment sets environment variables, a test builds
the objects directly.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class HeraldSettings(BaseSettings):
    """Base for every settings class: one prefix, environment first."""

    model_config = SettingsConfigDict(env_prefix="HERALD_", extra="ignore", frozen=True)


class KafkaSettings(HeraldSettings):
    """How to reach the broker and how to consume from it."""

    kafka_bootstrap: str = Field(default="127.0.0.1:9092", description="host:port[,host:port]")
    kafka_idempotence: bool = Field(
        default=False,
        description="Idempotent producer. On for Apache Kafka; the embedded broker refuses it.",
    )
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
        description="Most bytes one fetch brings back, so most a consumer holds read ahead: the "
        "embedded broker ignores the per-partition limit (aiokafka's 50 MiB default let a "
        "dispatcher grow ~60 MB with a backlog; make bench).",
    )
    producer_linger_ms: int = Field(default=2, ge=0, le=1_000)
    max_message_bytes: int = Field(default=1_048_576, ge=1024)
    handler_max_attempts: int = Field(
        default=5,
        ge=1,
        description="Attempts before a message that keeps failing is dead-lettered.",
    )


class DatabaseSettings(HeraldSettings):
    """PostgreSQL: every service owns one schema in it and reads no other."""

    database_dsn: SecretStr = Field(default=SecretStr("postgresql://postgres@127.0.0.1/postgres"))
    database_pool_min: int = Field(default=1, ge=0)
    database_pool_max: int = Field(default=10, ge=1)


class HttpSettings(HeraldSettings):
    """Where a service's HTTP endpoint listens (its API, or health checks only)."""

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)


class ObservabilitySettings(HeraldSettings):
    """Logging and tracing."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    trace_exporter: Literal["none", "console"] = "none"
