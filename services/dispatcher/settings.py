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
    dispatcher_retry_max_attempts: int = Field(
        default=3, ge=1, le=20, description="Attempts per push before it is reported failed."
    )
    dispatcher_retry_base_delay_seconds: float = Field(
        default=1.0, gt=0, description="Wait before the second attempt; doubles after that."
    )
    dispatcher_retry_max_delay_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Longest backoff between attempts (before any Retry-After).",
    )
    dispatcher_retry_after_max_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="Longest Retry-After honoured; a provider asking for more fails the push.",
    )
    dispatcher_retry_hold_seconds: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description="Longest a retry batch waits for its pushes' time before re-queueing them.",
    )
