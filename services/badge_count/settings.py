"""Badge-count settings (environment, prefix ``HERALD_``)."""

from pydantic import Field

from shared.settings import DatabaseSettings, HttpSettings, KafkaSettings, ObservabilitySettings
from shared.tenancy import TenancySettings


class BadgeCountSettings(
    KafkaSettings, DatabaseSettings, HttpSettings, ObservabilitySettings, TenancySettings
):
    """Broker, database, the badge query API and who may call it."""

    http_port: int = 8084
    badge_retention_days: float = Field(
        default=30,
        gt=0,
        description="Forget applied read reports, and notifications read, this long after "
        "(a redelivered report or notification is at most a topic's 7 days old); unread "
        "notifications stay.",
    )
