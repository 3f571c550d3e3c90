"""Dispatcher settings (environment, prefix ``HERALD_``): shared ones and each platform's own."""

from __future__ import annotations

from pydantic import Field

from contracts.push import Platform
from shared.platforms.apns.settings import ApnsSettings
from shared.platforms.fcm.settings import FcmSettings
from shared.platforms.webpush.settings import WebPushSettings
from shared.secrets import SecretsSettings
from shared.settings import HttpSettings, KafkaSettings, ObservabilitySettings


class DispatcherSettings(
    KafkaSettings,
    HttpSettings,
    ObservabilitySettings,
    SecretsSettings,
    FcmSettings,
    ApnsSettings,
    WebPushSettings,
):
    """Which platform this deployment serves, how hard it pushes and how it retries."""

    http_port: int = 8086
    dispatcher_platform: Platform = Field(
        default="fcm", description="The provider this deployment sends to (one per deployment)."
    )
    dispatcher_max_in_flight: int = Field(
        default=64, ge=1, le=10_000, description="Requests open to the provider at once."
    )
    dispatcher_request_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Timeout of one request to the provider."
    )
    dispatcher_retry_base_delay_seconds: float = Field(
        default=1.0, gt=0, description="Wait before the second attempt; doubles after that."
    )
    dispatcher_retry_max_delay_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Longest backoff between attempts (a provider's Retry-After may ask more).",
    )
    dispatcher_retry_horizon_hours: float = Field(
        default=672.0,
        gt=0,
        le=672.0,
        description="How long a push without a TTL is retried (28 days: FCM's longest TTL).",
    )
    dispatcher_retry_hold_seconds: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description="Longest a retry batch waits for its pushes' time before re-queueing them.",
    )
    dispatcher_retry_requeue_per_second: float = Field(
        default=2000.0,
        gt=0,
        description="Fastest rate at which waiting pushes go back round the retry topic while a "
        "backlog of them streams past (~50 us of CPU each: fetch, decode, encode, produce).",
    )
    dispatcher_pause_seconds: float = Field(
        default=30.0,
        gt=0,
        description="First pause of an app whose credentials the provider refuses; doubles with "
        "each refusal in a row. New credentials end a pause at once.",
    )
    dispatcher_pause_max_seconds: float = Field(
        default=300.0, gt=0, description="Longest pause of an app between two tries."
    )
