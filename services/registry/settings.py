"""Registry settings (environment, prefix ``HERALD_``)."""

from pydantic import Field

from shared.auth import ApiKeySettings
from shared.settings import DatabaseSettings, HttpSettings, KafkaSettings, ObservabilitySettings


class RegistrySettings(
    KafkaSettings, DatabaseSettings, HttpSettings, ObservabilitySettings, ApiKeySettings
):
    """Broker, its own PostgreSQL schema, the device API and the apps' API keys."""

    http_port: int = Field(default=8082, ge=0, le=65535)
