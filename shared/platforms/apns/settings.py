"""APNs settings (environment, prefix ``HERALD_``): credentials, endpoint, topic and timeouts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field

from contracts.push import ApnsEnvironment
from shared.platforms.base import PlatformSettings

#: Apple's hosts by environment (an app's credentials name one; a device may name the other).
HOSTS: dict[ApnsEnvironment, str] = {
    "production": "api.push.apple.com",
    "sandbox": "api.sandbox.push.apple.com",
}
#: An app's bundle id (apns-topic), as stored credentials and HERALD_APNS_TOPIC both name it.
BUNDLE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,154}$")
#: What a bad bundle id is told.
BUNDLE_ID_EXPECTED = "expected the app's bundle id, such as com.example.app"


class ApnsSettings(PlatformSettings):
    """Where APNs is and how to authenticate; every endpoint can point at an emulator."""

    apns_topic: str | None = Field(
        default=None, description="The app's bundle id (apns-topic); required for APNs."
    )
    apns_key_file: Path | None = Field(
        default=None, description="Token auth: the AuthKey_<KEY ID>.p8 signing key from Apple."
    )
    apns_key_id: str | None = Field(
        default=None, description="Token auth: the key id; default: read from the file name."
    )
    apns_team_id: str | None = Field(default=None, description="Token auth: the Apple team id.")
    apns_cert_file: Path | None = Field(
        default=None, description="Certificate auth: PEM with the client certificate and key."
    )
    apns_environment: Literal["production", "sandbox"] = Field(
        default="production", description="Which Apple host to use when apns_host is unset."
    )
    apns_host: str | None = Field(
        default=None, description="APNs host; default api.push.apple.com / api.sandbox..."
    )
    apns_port: int = Field(default=443, ge=1, le=65535, description="443, or Apple's 2197.")
    apns_sandbox_host: str | None = Field(
        default=None,
        description="Host for sandbox tokens when it is not apns_host (a staging stack or test "
        "with one emulator per environment); default: apns_host, else Apple's sandbox host.",
    )
    apns_sandbox_port: int | None = Field(
        default=None, ge=1, le=65535, description="Port of apns_sandbox_host; default apns_port."
    )
    apns_ca_bundle: Path | None = Field(
        default=None, description="PEM bundle to trust for APNs (default: the system's)."
    )
    apns_max_connections: int = Field(
        default=2, ge=1, le=100, description="HTTP/2 connections to APNs (each multiplexes)."
    )
    apns_token_refresh_minutes: float = Field(
        default=40.0,
        ge=20.0,
        le=55.0,
        description="Sign a new provider token this often (Apple: between 20 and 60 minutes).",
    )

    def apns_endpoint(self, environment: ApnsEnvironment) -> tuple[str, int]:
        """Host and port that tokens of ``environment`` are sent to."""
        if environment == "sandbox" and self.apns_sandbox_host is not None:
            return self.apns_sandbox_host, self.apns_sandbox_port or self.apns_port
        return self.apns_host or HOSTS[environment], self.apns_port


def configured(settings: ApnsSettings) -> bool:
    """True when settings hold a deployment-wide APNs credential (a key or a certificate)."""
    return settings.apns_key_file is not None or settings.apns_cert_file is not None
