"""APNs emulator settings (environment, prefix ``HERALD_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from services.emulators.h2_server import DEFAULT_WINDOW, LARGEST_WINDOW, FlowWindows
from services.emulators.load import LoadSettings
from shared.settings import HttpSettings, ObservabilitySettings


class ApnsEmulatorSettings(HttpSettings, ObservabilitySettings, LoadSettings):
    """Where to listen (TLS for the provider API, plain HTTP for inspection) and whom to trust."""

    http_port: int = 8096
    apns_emulator_tls_port: int = Field(default=8443, ge=0, le=65535)
    apns_emulator_cert_file: Path | None = Field(
        default=None, description="Server certificate (PEM) for the TLS port."
    )
    apns_emulator_key_file: Path | None = Field(
        default=None, description="Private key (PEM) of the server certificate."
    )
    apns_emulator_client_ca: Path | None = Field(
        default=None,
        description="Require TLS client certificates from this CA (certificate authentication).",
    )
    apns_emulator_auth_keys: list[Path] = Field(
        default_factory=list, description="JSON list of AuthKey_<KEY ID>.p8 files to trust."
    )
    apns_emulator_team_id: str = Field(
        default="HERALDTEAM", description="The team the trusted keys belong to (the JWT's iss)."
    )
    apns_emulator_topics: list[str] = Field(
        default_factory=list,
        description="JSON list of bundle ids (apns-topic) allowed; empty: any topic.",
    )
    apns_emulator_max_messages: int = Field(
        default=10_000, ge=1, description="Accepted notifications kept for GET /emulator/messages."
    )
    apns_emulator_stream_window: int = Field(
        default=DEFAULT_WINDOW,
        ge=1,
        le=LARGEST_WINDOW,
        description="HTTP/2 initial stream window advertised (SETTINGS_INITIAL_WINDOW_SIZE); "
        "APNs advertises HTTP/2's default, 65,535 bytes.",
    )
    apns_emulator_connection_window: int = Field(
        default=DEFAULT_WINDOW,
        ge=DEFAULT_WINDOW,
        le=LARGEST_WINDOW,
        description="HTTP/2 connection window; APNs keeps HTTP/2's starting 65,535 bytes.",
    )

    def flow_windows(self) -> FlowWindows:
        return FlowWindows(
            stream=self.apns_emulator_stream_window,
            connection=self.apns_emulator_connection_window,
        )
