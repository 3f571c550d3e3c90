"""Provider authentication tokens checked as APNs checks them.

A token is an ES256 JWT whose header names a known key (``kid``), issued by the key's team
(``iss``) and not older than an hour (``iat``). Apple also refuses a token that changes more often
than every 20 minutes with 429 TooManyProviderTokenUpdates, and applies that per connection: its
engineers say a connection that saw too many updates stays unusable until enough time has passed,
while a new connection is judged afresh, and that one token may serve many provider servers. So the
emulator remembers the token each connection uses, refuses a new one on that connection whose
``iat`` is less than 20 minutes after the current one's, and lets any number of connections (other
replicas, a restarted dispatcher) present their own tokens, or the same one.
References: "Establishing a token-based connection to APNs"
(https://developer.apple.com/documentation/usernotifications/establishing-a-token-based-connection-to-apns),
"Handling notification responses from APNs", and Apple Developer Forums threads 674772, 675879 and
702056 (answers by Apple engineers).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any

import jwt

from services.emulators.apns.errors import ApnsReject
from services.emulators.apns.keys import TrustedKey
from services.emulators.verified import VerifiedTokens
from shared.clock import Clock

MAX_AGE_SECONDS = 3600
MIN_UPDATE_INTERVAL_SECONDS = 20 * 60
CLOCK_SKEW_SECONDS = 60
#: Connections whose token is remembered; the least recently used is forgotten first.
KEPT_CONNECTIONS = 10_000


class ProviderTokenChecker:
    """Verifies bearer tokens against the trusted keys and watches how often each connection's
    token changes."""

    def __init__(self, keys: Mapping[str, TrustedKey], clock: Clock) -> None:
        self.keys = dict(keys)
        self.clock = clock
        self._in_use: OrderedDict[Hashable, tuple[str, int]] = OrderedDict()
        self.updates = 0
        self._verified: VerifiedTokens[tuple[TrustedKey, dict[str, Any]]] = VerifiedTokens()

    def check(self, authorization: str | None, connection: Hashable) -> TrustedKey:
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
        self._note(connection, token, issued_at)
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

    def _note(self, connection: Hashable, token: str, issued_at: int) -> None:
        """The connection's token from now on; a change within 20 minutes of the current token's
        ``iat`` is refused, and the connection keeps the token it had."""
        current = self._in_use.get(connection)
        if current is not None and current[0] != token:
            if issued_at - current[1] < MIN_UPDATE_INTERVAL_SECONDS:
                raise ApnsReject(429, "TooManyProviderTokenUpdates")
            self.updates += 1
        self._in_use[connection] = (token, issued_at)
        self._in_use.move_to_end(connection)
        while len(self._in_use) > KEPT_CONNECTIONS:
            self._in_use.popitem(last=False)
