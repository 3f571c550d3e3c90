"""Webhooks settings (environment, prefix ``HERALD_``)."""

from pathlib import Path

from pydantic import Field

from shared.platforms.endpoints import WebhookAddressSettings
from shared.secrets import SecretsSettings
from shared.settings import HttpSettings, KafkaSettings, ObservabilitySettings


class WebhooksSettings(
    KafkaSettings, HttpSettings, ObservabilitySettings, SecretsSettings, WebhookAddressSettings
):
    """Broker, the secrets keys that open webhook secrets, and how deliveries are made."""

    http_port: int = Field(default=8089, ge=0, le=65535)
    webhook_batch_max_events: int = Field(
        default=50, ge=1, le=1000, description="Trace events one POST carries at most."
    )
    webhook_request_timeout_seconds: float = Field(
        default=10, gt=0, le=120, description="Every POST is bounded by this."
    )
    webhook_lane_seconds: float = Field(
        default=10,
        gt=0,
        le=300,
        description="Time one webhook's deliveries may take in a batch; the rest wait on the "
        "retry topic, so a slow endpoint cannot hold every other app's webhooks.",
    )
    webhook_max_in_flight: int = Field(
        default=64, ge=1, le=10_000, description="POSTs open at once, over every endpoint."
    )
    webhook_retry_base_delay_seconds: float = Field(default=5, gt=0)
    webhook_retry_max_delay_seconds: float = Field(
        default=3600, gt=0, description="Longest wait between two attempts at an endpoint."
    )
    webhook_retry_deadline_hours: float = Field(
        default=24,
        gt=0,
        description="How long a delivery keeps being retried after its first failure; then it "
        "is parked on webhooks.retry.dlq.",
    )
    webhook_retry_hold_seconds: float = Field(
        default=5, gt=0, le=60, description="Longest a retry batch waits for its deliveries' time."
    )
    webhook_retry_requeue_per_second: float = Field(
        default=500, gt=0, description="Fastest a backlog of waiting deliveries goes back round."
    )
    webhook_ca_bundle: Path | None = Field(
        default=None, description="PEM bundle to trust for endpoints (default: the system's)."
    )
