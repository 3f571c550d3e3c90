"""What every platform package shares: its error types, the shapes its rules answer in, and the
helpers its renderers use. Pure: no I/O.

Errors, all ``ValueError``s, each never retried:

    PayloadError      the push cannot be rendered for the provider (too large, bad override)
    CredentialsError  a provider credential cannot work (the message never quotes the secret)
    TokenFormatError  a device token cannot belong to its platform
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.apps import CredentialKind
from contracts.push import Platform


class PayloadError(ValueError):
    """The push cannot be sent to its provider as it is (too large, bad override)."""


class CredentialsError(ValueError):
    """A provider credential cannot work; the message names the problem, never the secret."""


class TokenFormatError(ValueError):
    """A token that cannot belong to its platform; the message names the limit it breaks."""


@dataclass(frozen=True)
class Breach:
    """One broken rule of a request: the field to fix and a message naming the limit."""

    field: str
    message: str


@dataclass(frozen=True)
class Measure:
    """A rendered push's size as its provider counts it, and the limit that applies to it."""

    size: int
    limit: int
    counted: str

    @property
    def fits(self) -> bool:
        return self.size <= self.limit


@dataclass(frozen=True)
class TokenRule:
    """Length bounds and alphabet of one platform's tokens."""

    platform: Platform
    min_length: int
    max_length: int
    alphabet: re.Pattern[str]
    alphabet_name: str

    def check(self, token: str) -> str:
        """``token`` unchanged; raise TokenFormatError when it breaks the rule."""
        if not self.min_length <= len(token) <= self.max_length:
            raise TokenFormatError(
                f"{self.platform} tokens are {self.min_length} to {self.max_length} characters "
                f"long; this one has {len(token)}"
            )
        if not self.alphabet.fullmatch(token):
            raise TokenFormatError(f"{self.platform} tokens contain only {self.alphabet_name}")
        return token


class Stored(Protocol):
    """A credential as the registry stores it: public settings and the secret bytes."""

    @property
    def kind(self) -> CredentialKind: ...

    @property
    def settings(self) -> Mapping[str, str]: ...

    @property
    def secret(self) -> bytes: ...


@dataclass(frozen=True)
class StoredCredential:
    """What the registry seals and announces for one platform of an app."""

    platform: Platform
    kind: CredentialKind
    settings: dict[str, str]
    secret: bytes


class PlatformSettings(BaseSettings):
    """Base of each platform's settings: environment variables with the ``HERALD_`` prefix, as
    every Herald setting (services mix these into their own settings classes)."""

    model_config = SettingsConfigDict(env_prefix="HERALD_", extra="ignore", frozen=True)


def p256_private_key(pem: bytes, *, source: str, what: str) -> ec.EllipticCurvePrivateKey:
    """The EC P-256 private key in ``pem`` (ES256 signing: APNs .p8 keys, VAPID keys)."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise CredentialsError(
            f"{source}: not a usable {what}: not a readable PEM private key without a password"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise CredentialsError(f"{source}: not a usable {what}: must be an EC P-256 key")
    return key


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged over it, objects merged key by key (FCM's override rule)."""
    merged = dict(base)
    for key, value in extra.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def compact(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` without the keys whose value is None."""
    return {key: value for key, value in values.items() if value is not None}
