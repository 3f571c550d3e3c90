"""FCM emulator settings (environment, prefix ``HERALD_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from services.emulators.load import LoadSettings
from shared.settings import HttpSettings, ObservabilitySettings


class FcmEmulatorSettings(HttpSettings, ObservabilitySettings, LoadSettings):
    """Which service accounts to trust, where to listen, how much to remember."""

    http_port: int = 8095
    fcm_emulator_service_accounts: list[Path] = Field(
        default_factory=list,
        description="JSON list of service-account files whose keys the token endpoint trusts.",
    )
    fcm_emulator_generate_account: Path | None = Field(
        default=None,
        description="Write a fresh service account here at start-up and trust it, so a stack "
        "needs no key of its own (its token_uri uses http_host and http_port).",
    )
    fcm_emulator_project_id: str = Field(
        default="herald-local", description="Project of the generated service account."
    )
    fcm_emulator_token_lifetime_seconds: int = Field(
        default=3599, ge=1, description="Lifetime of issued access tokens (Google: 3599)."
    )
    fcm_emulator_tls_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Also serve the API over TLS with HTTP/2 here, as Google does (with the "
        "certificate and key below); None: plain HTTP only.",
    )
    fcm_emulator_cert_file: Path | None = Field(
        default=None, description="Server certificate (PEM) for the TLS port."
    )
    fcm_emulator_key_file: Path | None = Field(
        default=None, description="Private key (PEM) of the server certificate."
    )
    fcm_emulator_max_messages: int = Field(
        default=10_000, ge=1, description="Accepted messages kept for GET /emulator/messages."
    )
