"""Scheduler settings (environment, prefix ``HERALD_``)."""

from pydantic import Field

from shared.settings import DatabaseSettings, HttpSettings, KafkaSettings, ObservabilitySettings


class SchedulerSettings(KafkaSettings, DatabaseSettings, HttpSettings, ObservabilitySettings):
    """Broker, the scheduler's own PostgreSQL schema, health endpoint, logging, release loop."""

    http_port: int = 8083
    scheduler_release_batch: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="Copies the release loop claims, publishes and settles per transaction.",
    )
    scheduler_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="Longest the release loop sleeps without looking; bounds how late a copy "
        "taken in by a replica that died before releasing it goes out.",
    )
    scheduler_lock_timeout_seconds: float = Field(
        default=30.0,
        ge=1,
        description="A replica stalled this long mid-release loses its claim to another replica.",
    )
    scheduler_cancel_page_copies: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="Dropped copies a cancel reports per page: a broadcast's cancel holds one page "
        "in memory, never its audience.",
    )
    scheduler_retention_hours: float = Field(
        default=168.0,
        gt=0,
        description="How long settled copies are kept: cancels count them, redeliveries find them.",
    )
