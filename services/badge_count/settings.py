"""Badge-count settings (environment, prefix ``HERALD_``)."""

from shared.settings import DatabaseSettings, HttpSettings, KafkaSettings, ObservabilitySettings


class BadgeCountSettings(KafkaSettings, DatabaseSettings, HttpSettings, ObservabilitySettings):
    """Broker, database, health endpoint and logging."""

    http_port: int = 8084
