"""The only module that talks to FCM's send API: one sender (HTTP/2 by default), one request per
attempt, bounded by a timeout. The request carries the push's W3C ``traceparent`` when tracing is
on: Google's APIs accept trace context headers (Cloud Trace's "trace context" page), so it costs
FCM nothing. APNs and Web Push requests carry none: neither documents the header, and a push
service is whatever host a browser chose.

Connection failures (refused, reset, timeouts, a GOAWAY) are passing failures and retried; what
a reply means is decided by classify, what the body says by payload.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

from contracts.push import PushRequest
from services.dispatcher.domain import Pause, Reauthenticate, Rejected, RetryLater, Verdict
from services.dispatcher.platforms.fcm import classify
from services.dispatcher.platforms.fcm.auth import AccessTokens, ServiceAccountRefresher
from services.dispatcher.settings import DispatcherSettings
from services.dispatcher.transport import ConnectionFailed, Sender, create_sender
from shared.clock import Clock
from shared.platforms.base import CredentialsError, PayloadError
from shared.platforms.fcm import payload
from shared.platforms.fcm.credentials import ServiceAccount
from shared.telemetry import headers_for


class FcmProvider:
    """Sends pushes for one Firebase project with one service account."""

    def __init__(
        self,
        sender: Sender,
        tokens: AccessTokens,
        send_url: str,
        options: payload.RenderOptions,
        *,
        timeout: float = 10.0,
        on_close: ServiceAccountRefresher | None = None,
    ) -> None:
        self._sender = sender
        self._tokens = tokens
        self._url = send_url
        self._options = options
        self._timeout = timeout
        self._on_close = on_close

    async def attempt(self, request: PushRequest, now: datetime) -> Verdict:
        try:
            body = payload.render(request, now, self._options)
        except PayloadError as exc:
            return Rejected("failed", str(exc), None)
        try:
            token = await self._tokens.get()
        except CredentialsError as exc:
            return Pause(f"no FCM access token: {exc}", None)
        headers = {
            "authorization": f"Bearer {token}",
            "content-type": "application/json",
            **headers_for(),
        }
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._sender.post(self._url, headers, json.dumps(body).encode())
        except TimeoutError:
            return RetryLater(f"no reply from FCM within {self._timeout:g}s", None)
        except ConnectionFailed as exc:
            return RetryLater(f"connection to FCM failed: {exc}", None)
        reply = classify.Reply(
            status=response.status,
            body=_json(response.body),
            retry_after=response.headers.get("retry-after"),
        )
        verdict = classify.classify(reply, now)
        if isinstance(verdict, Reauthenticate):
            self._tokens.invalidate(token)
        return verdict

    async def close(self) -> None:
        await self._sender.aclose()
        if self._on_close is not None:
            self._on_close.close()


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


async def create_fcm_provider(
    settings: DispatcherSettings, clock: Clock, credential: ServiceAccount | None = None
) -> FcmProvider:
    """An FCM provider from an app's checked service account, or else from settings; fails at
    once when the key is unusable."""
    refresher = ServiceAccountRefresher(
        settings.fcm_service_account_file,
        account=credential,
        token_uri=settings.fcm_token_uri,
        ca_bundle=settings.fcm_ca_bundle,
        timeout=settings.dispatcher_request_timeout_seconds,
    )
    tokens = AccessTokens(
        refresher, clock, timedelta(seconds=settings.fcm_token_refresh_margin_seconds)
    )
    sender = create_sender(
        http2=settings.fcm_http2,
        ca_bundle=settings.fcm_ca_bundle,
        timeout=settings.dispatcher_request_timeout_seconds,
        max_connections=settings.dispatcher_max_in_flight,
    )
    base = settings.fcm_base_url.rstrip("/")
    return FcmProvider(
        sender,
        tokens,
        f"{base}/v1/projects/{refresher.project_id}/messages:send",
        payload.RenderOptions(
            android_channel_id=settings.fcm_android_channel_id,
            validate_only=settings.fcm_validate_only,
        ),
        timeout=settings.dispatcher_request_timeout_seconds,
        on_close=refresher,
    )
