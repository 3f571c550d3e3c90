"""OAuth2 access tokens for FCM from a service account, cached and refreshed before they expire.

google-auth's refresh is synchronous network I/O, so it runs in a worker thread, one refresh at a
time. Only ``refresh()`` is used: ``before_request()`` would also start background look-ups at a
Google endpoint. It goes over urllib3 rather than requests (the same refresh for ~3.5 MB less of
every FCM dispatcher's memory): no proxy variables, the system's CAs unless a bundle is set, no
redirects, and a bound on every wait, since google-auth passes no timeout of its own and a
refresh that hung would hold every push of the app behind it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import google.auth.exceptions
import urllib3
from google.auth.transport.urllib3 import Request as GoogleRequest
from google.oauth2 import service_account as google_service_account

from shared.clock import Clock
from shared.platforms.base import CredentialsError
from shared.platforms.fcm.credentials import ServiceAccount, service_account

log = logging.getLogger(__name__)

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"

#: Returns a fresh access token and how long it stays valid.
Refresh = Callable[[], tuple[str, timedelta]]


class ServiceAccountRefresher:
    """Fetches access tokens for one service account file (a blocking call; run it in a thread)."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        account: ServiceAccount | None = None,
        token_uri: str | None,
        ca_bundle: Path | None,
        timeout: float,
    ) -> None:
        """From a key file (``path``) or a checked account (an app's stored key)."""
        if account is None:
            account = load_service_account(path)
        try:
            credentials = google_service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                account.info, scopes=[FCM_SCOPE]
            )
        except (ValueError, KeyError) as exc:
            raise CredentialsError(f"the service account is not usable: {exc}") from None
        if token_uri is not None:
            credentials = credentials.with_token_uri(token_uri)
        self._credentials = credentials
        self.project_id = account.project_id
        self._http = urllib3.PoolManager(
            cert_reqs="CERT_REQUIRED",
            ca_certs=None if ca_bundle is None else str(ca_bundle),
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            retries=urllib3.Retry(total=1, redirect=False, raise_on_redirect=False),
        )

    def __call__(self) -> tuple[str, timedelta]:
        try:
            self._credentials.refresh(GoogleRequest(self._http))  # type: ignore[no-untyped-call]
        except google.auth.exceptions.GoogleAuthError as exc:
            raise CredentialsError(f"token endpoint refused the service account: {exc}") from None
        expiry: datetime = self._credentials.expiry
        lifetime = expiry - datetime.now(UTC).replace(tzinfo=None)
        return str(self._credentials.token), lifetime

    def close(self) -> None:
        self._http.clear()


def load_service_account(path: Path | None) -> ServiceAccount:
    """The service account of the key file named in settings."""
    if path is None:
        raise CredentialsError("HERALD_FCM_SERVICE_ACCOUNT_FILE is required for the FCM dispatcher")
    try:
        document = path.read_bytes()
    except OSError as exc:
        raise CredentialsError(f"{path}: not a usable service account file: {exc}") from None
    return service_account(document, source=str(path))


@dataclass(frozen=True)
class _Cached:
    value: str
    refresh_at: datetime


class AccessTokens:
    """The current access token; refreshed ``margin`` before expiry, one refresh at a time."""

    def __init__(self, refresh: Refresh, clock: Clock, margin: timedelta) -> None:
        self._refresh = refresh
        self._clock = clock
        self._margin = margin
        self._lock = asyncio.Lock()
        self._current: _Cached | None = None

    async def get(self) -> str:
        """A token valid for a while yet; raises CredentialsError when none can be had."""
        current = self._current
        if current is not None and self._clock.now() < current.refresh_at:
            return current.value
        async with self._lock:
            current = self._current
            if current is not None and self._clock.now() < current.refresh_at:
                return current.value
            value, lifetime = await asyncio.to_thread(self._refresh)
            usable = max(lifetime - self._margin, lifetime / 2)
            self._current = _Cached(value, self._clock.now() + usable)
            log.info("FCM access token refreshed; valid for %ds", lifetime.total_seconds())
            return value

    def invalidate(self, value: str) -> None:
        """Forget ``value`` after the provider refused it (unless a newer one replaced it)."""
        if self._current is not None and self._current.value == value:
            self._current = None
