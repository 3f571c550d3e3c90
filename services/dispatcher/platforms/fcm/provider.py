"""The only module that talks to FCM's send API: one pooled HTTP client, one request per attempt.

Connection failures (refused, reset, timeouts, a GOAWAY) are passing failures and retried; what
a reply means is decided by classify, what the body says by payload.
"""

from __future__ import annotations

import ssl
from datetime import datetime, timedelta
from typing import Any

import httpx

from contracts.push import PushRequest
from services.dispatcher.domain import Halt, Reauthenticate, RetryLater, Verdict
from services.dispatcher.platforms.fcm import classify, payload
from services.dispatcher.platforms.fcm.credentials import (
    AccessTokens,
    CredentialsError,
    ServiceAccountRefresher,
)
from services.dispatcher.settings import DispatcherSettings
from shared.clock import Clock


class FcmProvider:
    """Sends pushes for one Firebase project with one service account."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        tokens: AccessTokens,
        project_id: str,
        options: payload.RenderOptions,
        on_close: ServiceAccountRefresher | None = None,
    ) -> None:
        self._client = client
        self._tokens = tokens
        self._path = f"/v1/projects/{project_id}/messages:send"
        self._options = options
        self._on_close = on_close

    async def attempt(self, request: PushRequest, now: datetime) -> Verdict:
        try:
            token = await self._tokens.get()
        except CredentialsError as exc:
            return Halt(f"no FCM access token: {exc}", None)
        body = payload.render(request, now, self._options)
        try:
            response = await self._client.post(
                self._path, json=body, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.RequestError as exc:
            return RetryLater(f"connection to FCM failed: {type(exc).__name__}: {exc}", None)
        reply = classify.Reply(
            status=response.status_code,
            body=_json(response),
            retry_after=response.headers.get("retry-after"),
        )
        verdict = classify.classify(reply, now)
        if isinstance(verdict, Reauthenticate):
            self._tokens.invalidate(token)
        return verdict

    async def close(self) -> None:
        await self._client.aclose()
        if self._on_close is not None:
            self._on_close.close()


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


async def create_fcm_provider(settings: DispatcherSettings, clock: Clock) -> FcmProvider:
    """An FCM provider from settings; fails at start-up when the key file is unusable."""
    if settings.fcm_service_account_file is None:
        raise CredentialsError("HERALD_FCM_SERVICE_ACCOUNT_FILE is required for the FCM dispatcher")
    refresher = ServiceAccountRefresher(
        settings.fcm_service_account_file,
        token_uri=settings.fcm_token_uri,
        ca_bundle=settings.fcm_ca_bundle,
    )
    tokens = AccessTokens(
        refresher, clock, timedelta(seconds=settings.fcm_token_refresh_margin_seconds)
    )
    verify: ssl.SSLContext | bool = True
    if settings.fcm_ca_bundle is not None:
        verify = ssl.create_default_context(cafile=str(settings.fcm_ca_bundle))
    client = httpx.AsyncClient(
        base_url=settings.fcm_base_url,
        timeout=settings.dispatcher_request_timeout_seconds,
        limits=httpx.Limits(
            max_connections=settings.dispatcher_max_in_flight,
            max_keepalive_connections=settings.dispatcher_max_in_flight,
        ),
        verify=verify,
        trust_env=False,
    )
    return FcmProvider(
        client,
        tokens,
        refresher.project_id,
        payload.RenderOptions(android_channel_id=settings.fcm_android_channel_id),
        on_close=refresher,
    )
