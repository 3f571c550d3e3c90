"""A browser's push subscription as Herald accepts it (RFC 8030/8291 keys, an endpoint on an
allowed push service); the registry checks it at registration and the dispatcher before sending."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable

from pydantic import AnyUrl, ConfigDict, Field, ValidationError, field_validator

from contracts.base import Model
from contracts.content import HttpsUrl
from shared.platforms.endpoints import HTTPS_PORT, ip_literal

#: Push services of the major browsers. A Web Push endpoint must be https on an allowed host (this
#: list unless configured) so a subscription cannot aim Herald at an internal address: on port 443,
#: unless an entry names another port (``host:port``); "*.example.com" allows the subdomains of
#: example.com; an IP address only when an entry names it (a local emulator, ``127.0.0.1:8443``).
DEFAULT_WEBPUSH_HOSTS: tuple[str, ...] = (
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    "web.push.apple.com",
    "*.notify.windows.com",
)


def _base64url(value: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("expected base64url text") from None


#: A browser's PushSubscription JSON carries more than Herald uses (``expirationTime``, and what
#: browsers add later): those fields are the browser's, not a sender's typo, so they are ignored.
_BROWSER_SHAPED = ConfigDict(extra="ignore")


class WebPushKeys(Model):
    """The browser's keys for RFC 8291 message encryption, base64url as PushSubscription gives."""

    model_config = _BROWSER_SHAPED

    p256dh: str = Field(description="The subscription's P-256 public key (65 bytes, uncompressed).")
    auth: str = Field(description="The 16-byte authentication secret.")

    @field_validator("p256dh")
    @classmethod
    def _p256_point(cls, value: str) -> str:
        raw = _base64url(value)
        if len(raw) != 65 or raw[0] != 4:
            raise ValueError("p256dh is an uncompressed P-256 point: 65 bytes starting with 0x04")
        return value.rstrip("=")

    @field_validator("auth")
    @classmethod
    def _sixteen_bytes(cls, value: str) -> str:
        if len(_base64url(value)) != 16:
            raise ValueError("auth is a 16-byte secret")
        return value.rstrip("=")


class WebPushSubscription(Model):
    """A browser's PushSubscription: Herald stores it, as compact JSON, as the device's token."""

    model_config = _BROWSER_SHAPED

    endpoint: HttpsUrl
    keys: WebPushKeys

    @classmethod
    def from_token(cls, token: str) -> WebPushSubscription:
        """Parse a token; raise ValueError naming what is wrong."""
        try:
            return cls.model_validate_json(token)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in item['loc']) or '(token)'}: {item['msg']}"
                for item in error.errors(include_url=False, include_input=False)
            )
            raise ValueError(
                "a webpush token is a PushSubscription as JSON, "
                f'{{"endpoint": "https://...", "keys": {{"p256dh": ..., "auth": ...}}}}: {problems}'
            ) from None

    def token(self) -> str:
        """The canonical token: the same subscription always gives the same string."""
        return self.model_dump_json()


def endpoint_problem(endpoint: AnyUrl, allowed: Iterable[str]) -> str | None:
    """Why Herald may not send to a push endpoint, or None: it must be https without user info, on
    an allowed host and port (443 unless an entry names another), and an IP address only when an
    entry names that address."""
    if endpoint.scheme != "https":
        return "the endpoint must be an https URL"
    if endpoint.username or endpoint.password:
        return "the endpoint may not carry user info (user:password@)"
    host = (endpoint.host or "").lower().rstrip(".")
    port = endpoint.port or HTTPS_PORT
    literal = ip_literal(host) is not None
    entries = [_split_entry(entry) for entry in allowed]
    named = [(h, p) for h, p in entries if (h == host if literal else _host_matches(host, h))]
    if any(p == port for _, p in named):
        return None
    listed = ", ".join(allowed)
    if named:
        ports = ", ".join(str(p) for p in sorted({p for _, p in named}))
        return (
            f"{host} is allowed on port {ports} only, not {port} (push services listen on "
            f"{HTTPS_PORT}; an operator allows another port as host:port; allowed: {listed})"
        )
    if literal:
        return (
            f"the endpoint's host {host} is an IP address; push services have names (an operator "
            f"allows an address as address:port; allowed: {listed})"
        )
    return f"the push service {host} is not an allowed Web Push host (allowed: {listed})"


def _split_entry(entry: str) -> tuple[str, int]:
    """An allowed-hosts entry as (host, port): ``host``, ``host:port`` or ``[v6]:port``."""
    entry = entry.strip().lower()
    host, colon, port = entry.rpartition(":")
    if colon and port.isdigit() and (not host.count(":") or host.endswith("]")):
        return host.rstrip("."), int(port)
    return entry.rstrip("."), HTTPS_PORT


def _host_matches(host: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern
