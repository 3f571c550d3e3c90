"""Registry settings (environment, prefix ``HERALD_``)."""

from typing import Annotated

from pydantic import Field, StringConstraints

from shared.platforms.endpoints import WebhookAddressSettings
from shared.platforms.fcm.credentials import GOOGLE_TOKEN_URI
from shared.settings import DatabaseSettings, HttpSettings, KafkaSettings, ObservabilitySettings
from shared.tenancy import TenancySettings


class RegistrySettings(
    KafkaSettings,
    DatabaseSettings,
    HttpSettings,
    ObservabilitySettings,
    TenancySettings,
    WebhookAddressSettings,
):
    """Broker, its own PostgreSQL schema, the device API, the apps' API keys and the networks
    webhooks may reach."""

    http_port: int = Field(default=8082, ge=0, le=65535)
    operator_keys: list[Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]] = Field(
        default_factory=list,
        description="SHA-256 hex digests of operator keys, which may use the admin API "
        "(/v1/admin/apps) for every app, and alone create, disable and enable apps.",
    )
    fcm_token_uri: str = Field(
        default=GOOGLE_TOKEN_URI,
        pattern=r"^https?://",
        description="The token endpoint the FCM dispatchers use (HERALD_FCM_TOKEN_URI): a service "
        "account stored through the admin API may name it, or Google's.",
    )
    sync_merge_window_ms: int = Field(
        default=1000, ge=0, le=60_000, description="Badge changes in this window become one sync."
    )
    sync_flush_interval_ms: int = Field(default=100, ge=10, le=10_000)
    apns_wakes_per_hour: int = Field(
        default=2, ge=0, le=20, description="APNs background (wake) pushes per device per hour."
    )
    max_devices_per_user: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="Active devices one user of an app may have; a registration beyond is "
        "refused (409) until one is unregistered. Bounds every fan-out to one user.",
    )
    sync_retention_days: float = Field(
        default=30,
        gt=0,
        description="Forget a user's last badge sync, and a device's wake budget, after this "
        "long without one (redelivered badge changes are older than a topic's 7 days at most).",
    )
    device_stale_after_days: float = Field(
        default=30,
        gt=0,
        description="Deactivate a device (reason 'stale') that has not registered its token for "
        "this long; apps re-register at launch, and FCM calls a token stale after a month.",
    )
    device_delete_after_days: float = Field(
        default=90,
        gt=0,
        description="Delete an inactive device's row this long after it stopped receiving.",
    )
    device_hygiene_interval_minutes: float = Field(
        default=60, gt=0, description="How often the stale-device and deletion job runs."
    )
    max_topics_per_device: int = Field(
        default=2000,
        ge=1,
        le=100_000,
        description="Topics one device may be subscribed to; a subscription beyond is refused.",
    )
    max_topics_per_user: int = Field(
        default=2000,
        ge=1,
        le=100_000,
        description="Topics one user may be subscribed to (their devices' own topics aside); a "
        "subscription beyond is refused.",
    )
    max_tags: int = Field(
        default=50, ge=1, le=1000, description="Tags one user, or one device, may have."
    )
    audience_page_users: int = Field(
        default=1000,
        ge=1,
        le=10_000,
        description="Users per page when streaming a notification's audience (devices, topic, "
        "all, segment): what the registry holds in memory per stream, with their devices.",
    )
    audience_pages_per_turn: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="Pages an audience streams in one turn; one not all out then goes back to "
        "the end of notifications.audience, so the audiences behind it (of every app) stream "
        "before its next turn.",
    )
    audience_stream_max_seconds: int = Field(
        default=1800,
        ge=60,
        le=86_400,
        description="Longest one turn of an audience may take before the group counts the "
        "registry replica as gone (Kafka's max.poll.interval.ms for this group; one audience "
        "per fetch).",
    )
    audience_stream_retention_days: float = Field(
        default=8,
        gt=0,
        description="Forget how far a finished audience was streamed after this long; until "
        "then its notifications.audience event delivered again (the topic keeps 7 days) is "
        "recognised and publishes nothing.",
    )
