"""Badge-count settings (environment, prefix ``HERALD_``)."""

from shared.auth import ApiKeySettings, UserTokenSettings
from shared.settings import DatabaseSettings, HttpSettings, KafkaSettings, ObservabilitySettings


class BadgeCountSettings(
    KafkaSettings,
    DatabaseSettings,
    HttpSettings,
    ObservabilitySettings,
    ApiKeySettings,
    UserTokenSettings,
):
    """Broker, database, the badge query API and who may call it."""

    http_port: int = 8084
