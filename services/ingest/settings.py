"""Ingest settings (environment, prefix ``HERALD_``)."""

from pydantic import Field

from shared.settings import DatabaseSettings, HttpSettings, KafkaSettings, ObservabilitySettings
from shared.tenancy import TenancySettings


class IngestSettings(
    KafkaSettings, DatabaseSettings, HttpSettings, ObservabilitySettings, TenancySettings
):
    """Broker, database, the public HTTP API and the apps allowed to send."""

    http_port: int = 8081
    max_content_bytes: int = Field(
        default=4000,
        ge=256,
        description="Largest serialized content a device gets (title, body, data...): the "
        "default text and each localized variant are counted on their own.",
    )
    cancel_reply_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="How long an HTTP cancel waits for the scheduler's result before answering "
        "202 pending.",
    )
    idempotency_retention_days: float = Field(
        default=400,
        gt=0,
        description="Forget a submission's idempotency key this long after it was accepted: "
        "past it, the same key is a new notification, and a cancel by notification id finds "
        "nothing. The default outlasts the furthest schedule (365 days) and the longest TTL "
        "(28 days); shorten it when nothing is scheduled that far ahead.",
    )
