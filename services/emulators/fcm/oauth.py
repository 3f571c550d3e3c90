"""Google's OAuth2 token endpoint for service accounts: the JWT bearer grant (RFC 7523).

The assertion is checked the way Google checks it: RS256 signed by the key named in ``kid``,
issued by a known service account, addressed to Google's token audience, short-lived and current,
asking for at least one scope. Access tokens are opaque strings that expire.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from services.emulators.fcm.accounts import GOOGLE_OAUTH_AUDIENCE, TrustedAccount
from shared.clock import Clock

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = timedelta(hours=1)
CLOCK_SKEW = timedelta(seconds=60)
_TIMEFRAME = (
    "Invalid JWT: the token must be short-lived (at most 60 minutes) and current; "
    "check the iat and exp claims"
)


class GrantError(Exception):
    """An OAuth2 error reply: ``error`` is the RFC 6749 code, ``description`` explains it."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True)
class AccessToken:
    """An issued bearer token and what it grants."""

    value: str
    client_email: str
    project_id: str
    scopes: frozenset[str]
    expires_at: datetime


class TokenIssuer:
    """Verifies grant assertions, issues access tokens and recognises them later."""

    def __init__(
        self, accounts: Mapping[str, TrustedAccount], clock: Clock, lifetime: timedelta
    ) -> None:
        self.accounts = dict(accounts)
        self.clock = clock
        self.lifetime = lifetime
        self._issued: dict[str, AccessToken] = {}

    def grant(self, form: Mapping[str, str]) -> AccessToken:
        """Exchange a token-endpoint form for an access token, or raise GrantError."""
        grant_type = form.get("grant_type")
        if grant_type != JWT_BEARER_GRANT:
            raise GrantError("unsupported_grant_type", f"Invalid grant_type: {grant_type or ''}")
        assertion = form.get("assertion")
        if not assertion:
            raise GrantError("invalid_request", "Missing required parameter: assertion")
        account, claims = self._verify(assertion)
        scopes = frozenset(str(claims.get("scope") or "").split())
        if not scopes:
            raise GrantError("invalid_scope", "Empty or missing scope not allowed.")
        subject = claims.get("sub")
        if subject is not None and subject != account.client_email:
            raise GrantError(
                "unauthorized_client",
                "This service account may not act for another user (no domain-wide delegation).",
            )
        now = self.clock.now()
        self._forget_expired(now)
        token = AccessToken(
            value="ya29.emu-" + secrets.token_urlsafe(32),
            client_email=account.client_email,
            project_id=account.project_id,
            scopes=scopes,
            expires_at=now + self.lifetime,
        )
        self._issued[token.value] = token
        return token

    def lookup(self, value: str) -> AccessToken | None:
        """The live token with this value, or None when it is unknown or expired."""
        token = self._issued.get(value)
        if token is None or token.expires_at <= self.clock.now():
            return None
        return token

    def _forget_expired(self, now: datetime) -> None:
        for value in [v for v, t in self._issued.items() if t.expires_at <= now]:
            del self._issued[value]

    def _verify(self, assertion: str) -> tuple[TrustedAccount, dict[str, Any]]:
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.InvalidTokenError as exc:
            raise GrantError("invalid_grant", f"Invalid JWT: {exc}") from None
        if header.get("alg") != "RS256":
            raise GrantError("invalid_grant", "Invalid JWT: the algorithm must be RS256")
        account = self.accounts.get(str(unverified.get("iss")))
        if account is None:
            raise GrantError("invalid_grant", "Invalid grant: account not found")
        if header.get("kid", account.key_id) != account.key_id:
            raise GrantError("invalid_grant", "Invalid JWT Signature.")
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion,
                account.public_key,
                algorithms=["RS256"],
                audience=GOOGLE_OAUTH_AUDIENCE,
                options={
                    "require": ["iss", "aud", "iat", "exp"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise GrantError("invalid_grant", "Invalid JWT Signature.") from None
        except jwt.InvalidAudienceError:
            raise GrantError(
                "invalid_grant",
                f"Invalid JWT: failed audience check; the audience must be {GOOGLE_OAUTH_AUDIENCE}",
            ) from None
        except jwt.InvalidTokenError as exc:
            raise GrantError("invalid_grant", f"Invalid JWT: {exc}") from None
        self._check_timeframe(claims)
        return account, claims

    def _check_timeframe(self, claims: Mapping[str, Any]) -> None:
        issued, expires = claims.get("iat"), claims.get("exp")
        if not isinstance(issued, int) or not isinstance(expires, int):
            raise GrantError("invalid_grant", _TIMEFRAME)
        now = self.clock.now().timestamp()
        skew = CLOCK_SKEW.total_seconds()
        lifetime = expires - issued
        if not 0 < lifetime <= MAX_ASSERTION_LIFETIME.total_seconds():
            raise GrantError("invalid_grant", _TIMEFRAME)
        if issued > now + skew or expires < now - skew:
            raise GrantError("invalid_grant", _TIMEFRAME)
