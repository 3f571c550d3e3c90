"""FCM settings (environment, prefix ``HERALD_``): credentials, endpoint and Android defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from shared.platforms.base import PlatformSettings
from shared.platforms.fcm.credentials import GOOGLE_TOKEN_URI
from shared.platforms.fcm.payload import MAX_ANDROID_CHANNEL_ID_BYTES


class FcmSettings(PlatformSettings):
    """Where FCM is and how to authenticate to it; every endpoint can point at an emulator."""

    fcm_service_account_file: Path | None = Field(
        default=None, description="Google service-account JSON key file (required for FCM)."
    )
    fcm_base_url: str = Field(
        default="https://fcm.googleapis.com",
        pattern=r"^https?://",
        description="Base URL of the FCM HTTP v1 API.",
    )
    fcm_token_uri: str = Field(
        default=GOOGLE_TOKEN_URI,
        pattern=r"^https?://",
        description="OAuth2 token endpoint every grant goes to, whatever a key file's token_uri "
        "says (Google's; a local stack sets its emulator's).",
    )
    fcm_ca_bundle: Path | None = Field(
        default=None, description="PEM bundle to trust for FCM and the token endpoint."
    )
    fcm_android_channel_id: str | None = Field(
        default=None,
        max_length=MAX_ANDROID_CHANNEL_ID_BYTES,
        pattern=r"^[\x21-\x7e]+$",
        description="Android notification channel for visible pushes (printable ASCII; ingest's "
        "limits check counts on its length).",
    )
    fcm_validate_only: bool = Field(
        default=False, description="Ask FCM to validate messages without delivering them."
    )
    fcm_http2: bool = Field(
        default=True,
        description="Speak HTTP/2 to FCM over https through Herald's h2 client (one multiplexed "
        "connection, ~1/5 of httpx's client CPU per request: tests/benchmarks/http_clients); "
        "off: httpx HTTP/1.1.",
    )
    fcm_token_refresh_margin_seconds: int = Field(
        default=300, ge=0, description="Refresh the access token this long before it expires."
    )


def configured(settings: FcmSettings) -> bool:
    """True when settings hold a deployment-wide service account."""
    return settings.fcm_service_account_file is not None
