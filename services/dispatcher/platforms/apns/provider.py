"""The only module that talks to APNs (through the aioapns adapter); every send has a timeout.

aioapns matches replies to requests by apns-id and never gives up on one that gets no reply, so
each send is bounded here. The apns-id is the push request's event id: every attempt of one
notification to one device carries the same id, the one Apple reports that notification under
(Apple documents no deduplication by it, so a retry is not known to replace an earlier copy).
The adapter tells a late reply to an earlier attempt from the retry's by its stream.

After 429 TooManyProviderTokenUpdates the app's connections are replaced: Apple keeps refusing a
connection that saw its token change too often, and judges a new one afresh.

A device token works only in the Apple environment that issued it, so one app's pushes go to the
production or the sandbox host as each device says (the app's credentials name the default); each
environment has its own connections, opened at its first push, and both present one provider token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from contracts.push import ApnsEnvironment, PushRequest
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
from shared.platforms.apns.settings import BUNDLE_ID, BUNDLE_ID_EXPECTED
from shared.platforms.base import CredentialsError, PayloadError


class ApnsProvider:
    """Sends pushes for one app (bundle id) with one signing key or client certificate."""

    def __init__(
        self,
        connect: Callable[[ApnsEnvironment], ApnsConnections],
        environment: ApnsEnvironment,
        tokens: ProviderTokens | None,
        timeout: float,
    ) -> None:
        self._connect = connect
        self.environment = environment
        self._by_environment: dict[ApnsEnvironment, ApnsConnections] = {}
        self.tokens = tokens
        self._timeout = timeout

    def connections_for(self, environment: ApnsEnvironment) -> ApnsConnections:
        """The connections to ``environment``'s host, made at first use."""
        connections = self._by_environment.get(environment)
        if connections is None:
            connections = self._by_environment[environment] = self._connect(environment)
        return connections

    async def attempt(self, request: PushRequest, now: datetime) -> Verdict:
        try:
            message = payload.render(request, now)
        except PayloadError as exc:
            return Rejected("failed", str(exc), None)
        connections = self.connections_for(request.apns_environment or self.environment)
        try:
            async with asyncio.timeout(self._timeout):
                reply = await connections.send(request.token, message, str(request.event_id))
        except TimeoutError:
            return RetryLater(f"no reply from APNs within {self._timeout:g}s", None)
        except CONNECTION_ERRORS as exc:
            return RetryLater(f"connection to APNs failed: {type(exc).__name__}: {exc}", None)
        verdict = classify.classify(reply, now)
        if isinstance(verdict, Pause) and reply.reason == "TooManyProviderTokenUpdates":
            self._close_all()
        return verdict

    @property
    def connections(self) -> ApnsConnections:
        """The connections to the app's own environment."""
        return self.connections_for(self.environment)

    def _close_all(self) -> None:
        for connections in self._by_environment.values():
            connections.close()

    async def close(self) -> None:
        self._close_all()


async def create_apns_provider(
    settings: DispatcherSettings, clock: Clock, credential: ApnsCredential | None = None
) -> ApnsProvider:
    """An APNs provider from an app's parsed credentials, or else from settings; fails at once
    when the credentials are unusable."""
    refresh = timedelta(minutes=settings.apns_token_refresh_minutes)
    tokens = None
    cert_pem: bytes | None = None
    environment: ApnsEnvironment
    if credential is not None:
        topic, environment = credential.topic, credential.environment
        if credential.signing_key is not None:
            tokens = ProviderTokens(credential.signing_key, clock, refresh)
        cert_pem = credential.certificate_pem
    else:
        if settings.apns_topic is None:
            raise CredentialsError("HERALD_APNS_TOPIC (the app's bundle id) is required for APNs")
        if not BUNDLE_ID.match(settings.apns_topic):
            raise CredentialsError(f"HERALD_APNS_TOPIC: {BUNDLE_ID_EXPECTED}")
        topic, environment = settings.apns_topic, settings.apns_environment
        if settings.apns_key_file is not None:
            tokens = load_provider_tokens(
                settings.apns_key_file, settings.apns_key_id, settings.apns_team_id, clock, refresh
            )
        elif settings.apns_cert_file is not None:
            cert_pem = certificate(
                settings.apns_cert_file.read_bytes(), source=str(settings.apns_cert_file)
            )

    def connect(environment: ApnsEnvironment) -> ApnsConnections:
        host, port = settings.apns_endpoint(environment)
        return create_connections(
            host=host,
            port=port,
            topic=topic,
            tokens=tokens,
            cert_pem=cert_pem,
            ca_bundle=settings.apns_ca_bundle,
            max_connections=settings.apns_max_connections,
        )

    provider = ApnsProvider(
        connect, environment, tokens, settings.dispatcher_request_timeout_seconds
    )
    provider.connections_for(environment)
    return provider
