"""Provider authentication tokens checked as APNs checks them.

A token is an ES256 JWT whose header names a known key (``kid``), issued by the key's team
(``iss``) and not older than an hour (``iat``). Apple also refuses a provider that changes its token
more often than every 20 minutes; the emulator answers that with TooManyProviderTokenUpdates.
Reference: "Establishing a token-based connection to APNs"
(https://developer.apple.com/documentation/usernotifications/establishing-a-token-based-connection-to-apns).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jwt

from services.emulators.apns.errors import ApnsReject
from services.emulators.apns.keys import TrustedKey
from services.emulators.verified import VerifiedTokens
from shared.clock import Clock

MAX_AGE_SECONDS = 3600
MIN_UPDATE_INTERVAL_SECONDS = 20 * 60
CLOCK_SKEW_SECONDS = 60
KEPT_TOKENS = 4


class ProviderTokenChecker:
    """Verifies bearer tokens against the trusted keys and watches how often each key's changes."""

    def __init__(self, keys: Mapping[str, TrustedKey], clock: Clock) -> None:
        self.keys = dict(keys)
        self.clock = clock
        self._issued: dict[str, dict[str, int]] = {}
        self.updates: dict[str, int] = {}
        self._verified: VerifiedTokens[tuple[TrustedKey, dict[str, Any]]] = VerifiedTokens()

    def check(self, authorization: str | None) -> TrustedKey:
        """The key that signed the request's token; raise ApnsReject (403 or 429) otherwise."""
        if not authorization:
            raise ApnsReject(403, "MissingProviderToken")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApnsReject(403, "InvalidProviderToken")
        verified = self._verified.get(token)
        if verified is None:
            verified = self._verify(token)
            self._verified.add(token, verified)
        key, claims = verified
        issued_at = claims.get("iat")
        if claims.get("iss") != key.team_id or not isinstance(issued_at, int):
            raise ApnsReject(403, "InvalidProviderToken")
        now = self.clock.now().timestamp()
        if issued_at > now + CLOCK_SKEW_SECONDS:
            raise ApnsReject(403, "InvalidProviderToken")
        if now - issued_at > MAX_AGE_SECONDS:
            raise ApnsReject(403, "ExpiredProviderToken")
        self._note(key.key_id, token, issued_at)
        return key

    def _verify(self, token: str) -> tuple[TrustedKey, dict[str, Any]]:
        """The trusted key that signed ``token`` and its claims (signature and header checked)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise ApnsReject(403, "InvalidProviderToken") from None
        key = self.keys.get(str(header.get("kid")))
        if header.get("alg") != "ES256" or key is None:
            raise ApnsReject(403, "InvalidProviderToken")
        try:
            claims = jwt.decode(
                token,
                key.public_key,
                algorithms=["ES256"],
                options={"verify_exp": False, "verify_iat": False, "require": ["iss", "iat"]},
            )
        except jwt.InvalidTokenError:
            raise ApnsReject(403, "InvalidProviderToken") from None
        return key, claims

    def _note(self, key_id: str, token: str, issued_at: int) -> None:
        """Remember the key's tokens; a new one within 20 minutes of the newest is refused."""
        known = self._issued.setdefault(key_id, {})
        if token in known:
            return
        if known and issued_at - max(known.values()) < MIN_UPDATE_INTERVAL_SECONDS:
            raise ApnsReject(429, "TooManyProviderTokenUpdates")
        if known:
            self.updates[key_id] = self.updates.get(key_id, 0) + 1
        known[token] = issued_at
        while len(known) > KEPT_TOKENS:
            del known[min(known, key=known.__getitem__)]
