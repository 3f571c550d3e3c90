"""Server API keys: an app's backend proves which app it speaks for.

Keys are random strings shown once; Herald keeps only their SHA-256 digests, so a leaked database
or configuration does not leak a usable key. User tokens are JWTs an app's server signs for its
signed-in user. Which keys exist is the AppDirectory's business (shared.tenancy.directory).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from pydantic import Field, SecretStr, field_validator

from contracts.base import AppId
from shared.settings import HeraldSettings

KEY_PREFIX = "hrld_"


class ApiKeySettings(HeraldSettings):
    """``HERALD_API_KEYS``: JSON object of app id to SHA-256 hex digests of static keys.

    Static keys bootstrap a deployment (and tests): they have every scope and are revoked only by
    changing the setting. Managed keys (``herald keys create``) come from the AppDirectory.
    """

    api_keys: dict[AppId, list[str]] = Field(default_factory=dict)


def new_api_key() -> str:
    """A fresh random key (256 bits) in Herald's recognisable format."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_digest(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


USER_TOKEN_AUDIENCE = "herald"  # noqa: S105 - a claim value, not a secret
USER_TOKEN_ALGORITHM = "HS256"  # noqa: S105
#: HS256 needs a key at least as long as its 256-bit output (RFC 7518, section 3.2).
MIN_SIGNING_KEY_LENGTH = 32


class UserTokenSettings(HeraldSettings):
    """``HERALD_APP_SIGNING_KEYS``: JSON object of app id to the secrets its server signs with.

    Several secrets per app allow rotation: sign with the new one while the old still verifies.
    """

    app_signing_keys: dict[AppId, list[SecretStr]] = Field(default_factory=dict)
    user_token_max_lifetime_seconds: int = Field(default=86_400, ge=60)

    @field_validator("app_signing_keys")
    @classmethod
    def _long_enough(cls, keys: dict[str, list[SecretStr]]) -> dict[str, list[SecretStr]]:
        for app, secrets_of_app in keys.items():
            for key in secrets_of_app:
                if len(key.get_secret_value()) < MIN_SIGNING_KEY_LENGTH:
                    raise ValueError(
                        f"app_signing_keys[{app!r}]: a key is shorter than "
                        f"{MIN_SIGNING_KEY_LENGTH} characters"
                    )
        return keys


@dataclass(frozen=True)
class UserIdentity:
    """Who a device acts for, as proven by its user token."""

    app_id: str
    user_id: str


def new_signing_key() -> str:
    """A fresh random signing secret (256 bits): for an app's server to sign user tokens, or for
    its producers to sign Kafka records (an intake key)."""
    return secrets.token_urlsafe(32)


def issue_user_token(
    app_id: str, user_id: str, signing_key: str, *, now: datetime, lifetime: timedelta
) -> str:
    """What an app's server hands its signed-in user's device: a short-lived JWT (HS256).

    Claims: ``iss`` the app id, ``sub`` the user id, ``aud`` "herald", ``iat`` and ``exp``.
    """
    claims = {
        "iss": app_id,
        "sub": user_id,
        "aud": USER_TOKEN_AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    return jwt.encode(claims, signing_key, algorithm=USER_TOKEN_ALGORITHM)


class UserTokens:
    """Verifies user tokens against the signing keys of the app they claim to come from."""

    def __init__(self, keys_for: Callable[[str], list[str]], max_lifetime_seconds: int) -> None:
        self._keys_for = keys_for
        self._max_lifetime = max_lifetime_seconds

    def verify(self, token: str) -> UserIdentity | None:
        """The identity in ``token``; None when malformed, forged, expired or too long-lived."""
        try:
            claimed_app = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            return None
        if not isinstance(claimed_app, str):
            return None
        for key in self._keys_for(claimed_app):
            try:
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=[USER_TOKEN_ALGORITHM],
                    audience=USER_TOKEN_AUDIENCE,
                    issuer=claimed_app,
                    options={"require": ["exp", "iat", "sub", "iss", "aud"]},
                    leeway=30,
                )
            except jwt.PyJWTError:
                continue
            lifetime = int(claims["exp"]) - int(claims["iat"])
            subject = claims["sub"]
            if lifetime > self._max_lifetime or not isinstance(subject, str) or not subject:
                return None
            return UserIdentity(app_id=claimed_app, user_id=subject)
        return None
