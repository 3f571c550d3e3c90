"""Per-device deliveries handed to a platform's dispatcher, and what came of them."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import uuid
from collections.abc import Iterable
from typing import Annotated, Literal

from pydantic import AnyUrl, AwareDatetime, Field, ValidationError, field_validator

from contracts.base import Event, Model, UserId
from contracts.content import Content, DeliveryOptions, HttpsUrl

Platform = Literal["apns", "fcm", "webpush"]
PLATFORMS: tuple[Platform, ...] = ("apns", "fcm", "webpush")

Outcome = Literal["delivered", "token_invalid", "failed", "expired"]


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
HTTPS_PORT = 443


def _base64url(value: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("expected base64url text") from None


class WebPushKeys(Model):
    """The browser's keys for RFC 8291 message encryption, base64url as PushSubscription gives."""

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
    literal = _ip_literal(host)
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


def _ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class BadgeSync(Model):
    """What a quiet sync push tells a device after the user read something elsewhere.

    The app sets its badge (ignoring a ``badge_seq`` older than one it showed) and removes the
    delivered notifications named here, or all up to ``read_up_to``, or all when ``all_read``.

    ``wake_app`` matters to APNs only, where one push cannot do both jobs: False renders a
    badge-only push (apns-push-type alert, ``aps`` holding just ``badge``: never throttled); True
    renders a background push (apns-push-type background, priority 5, ``content-available`` 1 and
    no alert/badge/sound, which Apple forbids there) carrying the read data so the app can remove
    delivered notifications. Apple allows only a few background pushes an hour, so the registry
    budgets them per device. FCM and Web Push sync pushes are always data messages and ignore it.
    """

    badge: int = Field(ge=0)
    badge_seq: int = Field(ge=0)
    read_notification_ids: Annotated[list[uuid.UUID], Field(max_length=100)] = Field(
        default_factory=list
    )
    read_up_to: AwareDatetime | None = None
    all_read: bool = False
    wake_app: bool = False


class PushRequest(Event):
    """Deliver one notification to one device; keyed by device id so its pushes keep order.

    With ``sync`` set it is a quiet badge-sync push instead (no alert); ``notification_id`` then
    names the badge change that caused it.
    """

    type: Literal["push.request"] = "push.request"
    version: Literal[1] = 1
    notification_id: uuid.UUID
    user_id: UserId
    device_id: uuid.UUID
    platform: Platform
    token: str = Field(min_length=1, max_length=4096)
    content: Content
    options: DeliveryOptions = Field(default_factory=DeliveryOptions)
    badge: int | None = Field(default=None, ge=0)
    badge_seq: int | None = Field(default=None, ge=0)
    accepted_at: AwareDatetime
    sync: BadgeSync | None = None
    attempt: int = Field(
        default=0, ge=0, description="Provider requests already made for it (a retry carries them)."
    )
    not_before: AwareDatetime | None = Field(
        default=None, description="A retry is not sent before this time (backoff, Retry-After)."
    )


class PushResult(Event):
    """The final outcome of one push request, after any retries.

    ``token_invalid`` tells the registry to deactivate the device's token; ``invalid_since`` is the
    provider's own time for that verdict when it gives one (APNs does).
    """

    type: Literal["push.result"] = "push.result"
    version: Literal[1] = 1
    request_event_id: uuid.UUID
    notification_id: uuid.UUID
    user_id: UserId
    device_id: uuid.UUID
    platform: Platform
    token: str
    outcome: Outcome
    reason: str | None = None
    provider_status: int | None = None
    provider_message_id: str | None = None
    invalid_since: AwareDatetime | None = None
    attempts: int = Field(ge=0, description="Requests made; 0 when it expired before the first.")
    accepted_at: AwareDatetime
