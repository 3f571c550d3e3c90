"""The only module that talks to APNs (through the aioapns adapter); every send has a timeout.

aioapns matches replies to requests by apns-id and never gives up on one that gets no reply, so
each send is bounded here. The apns-id is the push request's event id: every attempt of one
notification to one device carries the same id, and a retry replaces rather than doubles.

After 429 TooManyProviderTokenUpdates the app's connections are replaced: Apple keeps refusing a
connection that saw its token change too often, and judges a new one afresh.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from contracts.push import PushRequest
from services.dispatcher.domain import Pause, Rejected, RetryLater, Verdict
from services.dispatcher.platforms.apns import classify
from services.dispatcher.platforms.apns.aioapns_adapter import (
    CONNECTION_ERRORS,
    ApnsConnections,
    create_connections,
)
from services.dispatcher.platforms.apns.tokens import ProviderTokens, load_provider_tokens
from services.dispatcher.settings import DispatcherSettings
from shared.clock import Clock
from shared.platforms.apns import payload
from shared.platforms.apns.credentials import ApnsCredential, certificate
from shared.platforms.apns.settings import HOSTS
from shared.platforms.base import CredentialsError, PayloadError


class ApnsProvider:
    """Sends pushes for one app (bundle id) with one signing key or client certificate."""

    def __init__(
        self, connections: ApnsConnections, tokens: ProviderTokens | None, timeout: float
    ) -> None:
        self._connections = connections
        self.tokens = tokens
        self._timeout = timeout

    async def attempt(self, request: PushRequest, now: datetime) -> Verdict:
        try:
            message = payload.render(request, now)
        except PayloadError as exc:
            return Rejected("failed", str(exc), None)
        try:
            async with asyncio.timeout(self._timeout):
                reply = await self._connections.send(request.token, message, str(request.event_id))
        except TimeoutError:
            return RetryLater(f"no reply from APNs within {self._timeout:g}s", None)
        except CONNECTION_ERRORS as exc:
            return RetryLater(f"connection to APNs failed: {type(exc).__name__}: {exc}", None)
        verdict = classify.classify(reply, now)
        if isinstance(verdict, Pause) and reply.reason == "TooManyProviderTokenUpdates":
            self._connections.close()
        return verdict

    @property
    def connections(self) -> ApnsConnections:
        return self._connections

    async def close(self) -> None:
        self._connections.close()


async def create_apns_provider(
    settings: DispatcherSettings, clock: Clock, credential: ApnsCredential | None = None
) -> ApnsProvider:
    """An APNs provider from an app's parsed credentials, or else from settings; fails at once
    when the credentials are unusable."""
    refresh = timedelta(minutes=settings.apns_token_refresh_minutes)
    tokens = None
    cert_pem: bytes | None = None
    if credential is not None:
        topic = credential.topic
        host = settings.apns_host or HOSTS[credential.environment]
        if credential.signing_key is not None:
            tokens = ProviderTokens(credential.signing_key, clock, refresh)
        cert_pem = credential.certificate_pem
    else:
        if settings.apns_topic is None:
            raise CredentialsError("HERALD_APNS_TOPIC (the app's bundle id) is required for APNs")
        topic, host = settings.apns_topic, settings.apns_endpoint_host
        if settings.apns_key_file is not None:
            tokens = load_provider_tokens(
                settings.apns_key_file, settings.apns_key_id, settings.apns_team_id, clock, refresh
            )
        elif settings.apns_cert_file is not None:
            cert_pem = certificate(
                settings.apns_cert_file.read_bytes(), source=str(settings.apns_cert_file)
            )
    connections = create_connections(
        host=host,
        port=settings.apns_port,
        topic=topic,
        tokens=tokens,
        cert_pem=cert_pem,
        ca_bundle=settings.apns_ca_bundle,
        max_connections=settings.apns_max_connections,
    )
    return ApnsProvider(connections, tokens, settings.dispatcher_request_timeout_seconds)
