"""Web Push emulator settings (environment, prefix ``HERALD_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from services.emulators.load import LoadSettings
from shared.settings import HttpSettings, ObservabilitySettings


class WebPushEmulatorSettings(HttpSettings, ObservabilitySettings, LoadSettings):
    """Where to listen: TLS for push messages, plain HTTP for subscriptions and inspection."""

    http_port: int = 8097
    webpush_emulator_tls_port: int = Field(default=8444, ge=0, le=65535)
    webpush_emulator_cert_file: Path | None = Field(
        default=None, description="Server certificate (PEM) for the TLS port."
    )
    webpush_emulator_key_file: Path | None = Field(
        default=None, description="Private key (PEM) of the server certificate."
    )
    webpush_emulator_max_messages: int = Field(
        default=10_000, ge=1, description="Messages and subscriptions kept in memory."
    )
