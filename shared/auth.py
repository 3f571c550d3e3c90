"""Server API keys: an app's backend proves which app it speaks for.

Keys are random strings shown once; Herald keeps only their SHA-256 digests (in settings for now),
so a leaked configuration does not leak a usable key.
"""

from __future__ import annotations

import hashlib
import secrets

from pydantic import Field

from contracts.base import AppId
from shared.settings import HeraldSettings

KEY_PREFIX = "hrld_"


class ApiKeySettings(HeraldSettings):
    """``HERALD_API_KEYS``: JSON object of app id to the SHA-256 hex digests of its keys."""

    api_keys: dict[AppId, list[str]] = Field(default_factory=dict)


def new_api_key() -> str:
    """A fresh random key (256 bits) in Herald's recognisable format."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_digest(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    """Resolves a presented key to the app it belongs to."""

    def __init__(self, settings: ApiKeySettings) -> None:
        self._by_digest = {
            digest.lower(): app for app, digests in settings.api_keys.items() for digest in digests
        }

    def app_for(self, key: str) -> str | None:
        """The app id of ``key``, or None when it is unknown."""
        return self._by_digest.get(key_digest(key))
