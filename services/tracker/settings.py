"""Tracker settings (environment, prefix ``HERALD_``)."""

from pydantic import Field

from shared.settings import DatabaseSettings, HttpSettings, KafkaSettings, ObservabilitySettings
from shared.tenancy import TenancySettings


class TrackerSettings(
    KafkaSettings, DatabaseSettings, HttpSettings, ObservabilitySettings, TenancySettings
):
    """Broker, database, the timeline API and who may call it, and how long timelines are kept."""

    http_port: int = Field(default=8088, ge=0, le=65535)
    tracker_retention_days: float = Field(
        default=30,
        gt=0,
        description="Forget a notification's timeline this long after it was last active (a hold "
        "or a retry keeps it active until due), and inbox entries and reads this old.",
    )
