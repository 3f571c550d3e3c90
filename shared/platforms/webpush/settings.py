"""Web Push settings (environment, prefix ``HERALD_``): allowed push-service hosts (the registry
and the dispatcher both enforce them), VAPID identity and transport (the dispatcher's)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from shared.platforms.base import PlatformSettings
from shared.platforms.webpush.subscription import DEFAULT_WEBPUSH_HOSTS


class WebPushHostSettings(PlatformSettings):
    """Push services a subscription may point at, so none can aim Herald at an internal address."""

    webpush_allowed_hosts: list[str] = Field(
        default_factory=lambda: list(DEFAULT_WEBPUSH_HOSTS),
        description="JSON list of push service hosts, on port 443 unless an entry says "
        '"host:port"; "*.example.com" allows its subdomains; an IP address only as an entry of '
        'its own ("127.0.0.1:8443" for a local emulator).',
    )


class WebPushSettings(WebPushHostSettings):
    """Who Herald says it is to push services, and how it reaches them."""

    webpush_vapid_private_key_file: Path | None = Field(
        default=None, description="PEM file of the VAPID P-256 private key (required for Web Push)."
    )
    webpush_vapid_subject: str = Field(
        default="mailto:push@example.com",
        pattern=r"^(mailto:|https://)",
        description="VAPID sub claim: a mailto: or https: contact for push services.",
    )
    webpush_vapid_token_hours: float = Field(
        default=12.0, gt=0, le=24.0, description="Lifetime of a VAPID JWT (RFC 8292: at most 24 h)."
    )
    webpush_ca_bundle: Path | None = Field(
        default=None, description="PEM bundle to trust for push services (default: the system's)."
    )
    webpush_http2: bool = Field(
        default=True,
        description="Speak HTTP/2 to push services that offer it (one connection per origin); "
        "others, and this off, use httpx HTTP/1.1.",
    )


def configured(settings: WebPushSettings) -> bool:
    """True when settings hold a deployment-wide VAPID key."""
    return settings.webpush_vapid_private_key_file is not None
