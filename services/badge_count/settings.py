"""Badge-count settings (environment, prefix ``HERALD_``)."""

from shared.settings import DatabaseSettings, HttpSettings, KafkaSettings, ObservabilitySettings
from shared.tenancy import TenancySettings


class BadgeCountSettings(
    KafkaSettings, DatabaseSettings, HttpSettings, ObservabilitySettings, TenancySettings
):
    """Broker, database, the badge query API and who may call it."""

    http_port: int = 8084
