"""The only module that talks to push services: encrypt (RFC 8291), sign (RFC 8292), POST.

Each push goes to its subscription's endpoint, which must be https on an allowed host; anything
else is refused before a connection is made, so a subscription cannot aim Herald at an internal
address. Connection failures are passing failures and retried.
"""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime, timedelta

from pydantic import AnyUrl

from contracts.push import PushRequest
from services.dispatcher.domain import Rejected, RetryLater, Verdict
from services.dispatcher.platforms.webpush import classify, encryption
from services.dispatcher.platforms.webpush.vapid import VapidSigner, load_vapid_key
from services.dispatcher.settings import DispatcherSettings
from services.dispatcher.transport import ConnectionFailed, Sender, create_sender
from shared.clock import Clock
from shared.platforms.base import CredentialsError, PayloadError
from shared.platforms.webpush import payload
from shared.platforms.webpush.credentials import VapidCredential
from shared.platforms.webpush.subscription import WebPushSubscription, endpoint_problem


def encrypt(plaintext: bytes, subscription: WebPushSubscription) -> bytes:
    """RFC 8291 aes128gcm for the subscription's keys: a fresh sender key per message, one
    record."""
    keys = subscription.keys
    return encryption.encrypt(plaintext, _unbase64url(keys.p256dh), _unbase64url(keys.auth))


#: Endpoint origins judged so far, kept for the next push to the same push service: browsers use
#: a handful of services, so a full table means unusual endpoints and simply starts over.
ORIGINS_KEPT = 1024

#: What endpoint_problem reads of an endpoint: its scheme, user info, host and port.
_OriginKey = tuple[str, str | None, str | None, str | None, int | None]


class WebPushProvider:
    """Sends pushes to browsers' push services with one VAPID identity."""

    def __init__(
        self, sender: Sender, vapid: VapidSigner, allowed_hosts: list[str], timeout: float
    ) -> None:
        self._sender = sender
        self.vapid = vapid
        self._allowed = allowed_hosts
        self._timeout = timeout
        self._origins: dict[_OriginKey, tuple[str | None, str]] = {}

    async def attempt(self, request: PushRequest, now: datetime) -> Verdict:
        try:
            subscription = WebPushSubscription.from_token(request.token)
        except ValueError as exc:
            return Rejected("token_invalid", str(exc), None)
        problem, origin = self._judge(subscription.endpoint)
        if problem is not None:
            return Rejected("token_invalid", problem, None)
        try:
            message = payload.render(request, now)
        except PayloadError as exc:
            return Rejected("failed", str(exc), None)
        endpoint = str(subscription.endpoint)
        headers = {
            **message.headers,
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "Authorization": self.vapid.header(origin),
        }
        try:
            body = encrypt(message.plaintext, subscription)
        except ValueError as exc:
            reason = f"the subscription's p256dh is not a usable P-256 public key: {exc}"
            return Rejected("token_invalid", reason, None)
        except encryption.RecordTooLarge as exc:
            return Rejected("failed", str(exc), None)
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._sender.post(endpoint, headers, body)
        except TimeoutError:
            return RetryLater(f"no reply from the push service within {self._timeout:g}s", None)
        except ConnectionFailed as exc:
            return RetryLater(f"connection to the push service failed: {exc}", None)
        reply = classify.Reply(
            status=response.status,
            text=response.body[:500].decode(errors="replace"),
            location=response.headers.get("location"),
            retry_after=response.headers.get("retry-after"),
        )
        return classify.classify(reply, now)

    def _judge(self, endpoint: AnyUrl) -> tuple[str | None, str]:
        """Why Herald may not send to ``endpoint`` (None: it may), and its origin, from what
        was found for the same origin before: every push of a broadcast goes to one of a few
        push services, and checking the allowed hosts cost as much as rendering the push."""
        key = (endpoint.scheme, endpoint.username, endpoint.password, endpoint.host, endpoint.port)
        judged = self._origins.get(key)
        if judged is None:
            if len(self._origins) >= ORIGINS_KEPT:
                self._origins.clear()
            judged = self._origins[key] = (
                endpoint_problem(endpoint, self._allowed),
                _origin(endpoint),
            )
        return judged

    async def close(self) -> None:
        await self._sender.aclose()


def _origin(url: AnyUrl) -> str:
    """The push service's origin, the VAPID audience: ``https://host[:port]``."""
    default_port = url.port in (None, 443)
    return f"https://{url.host}" if default_port else f"https://{url.host}:{url.port}"


def _unbase64url(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


async def create_webpush_provider(
    settings: DispatcherSettings, clock: Clock, credential: VapidCredential | None = None
) -> WebPushProvider:
    """A Web Push provider from an app's checked VAPID key, or else from settings; fails at once
    when the key is unusable."""
    if credential is None:
        if settings.webpush_vapid_private_key_file is None:
            raise CredentialsError("HERALD_WEBPUSH_VAPID_PRIVATE_KEY_FILE is required for Web Push")
        key = load_vapid_key(settings.webpush_vapid_private_key_file)
        credential = VapidCredential(key, settings.webpush_vapid_subject)
    lifetime = timedelta(hours=settings.webpush_vapid_token_hours)
    signer = VapidSigner(credential.key, credential.subject, clock, lifetime)
    sender = create_sender(
        http2=settings.webpush_http2,
        ca_bundle=settings.webpush_ca_bundle,
        timeout=settings.dispatcher_request_timeout_seconds,
        max_connections=settings.dispatcher_max_in_flight,
    )
    return WebPushProvider(
        sender,
        signer,
        settings.webpush_allowed_hosts,
        settings.dispatcher_request_timeout_seconds,
    )
