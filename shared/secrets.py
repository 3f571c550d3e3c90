"""Sealing secrets at rest and on the broker: AES-256-GCM under keys from settings.

``HERALD_SECRETS_KEYS`` lists base64url 32-byte keys; the first seals, every one opens, so a key can
be rotated by putting the new one first. Each sealed value is bound to its purpose (the app and
what it is), so a ciphertext copied to another app or field does not open. The same keys yield
keys for other purposes (signing apps.changed, keying notification ids), each its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import Field, SecretStr, field_validator

from shared.settings import HeraldSettings

_VERSION = b"\x01"
_NONCE_BYTES = 12
_KEY_ID_BYTES = 4


class SecretsSettings(HeraldSettings):
    """``HERALD_SECRETS_KEYS``: JSON list of base64url-encoded 32-byte keys, newest first."""

    secrets_keys: list[SecretStr] = Field(default_factory=list)

    @field_validator("secrets_keys")
    @classmethod
    def _well_formed(cls, keys: list[SecretStr]) -> list[SecretStr]:
        for index, key in enumerate(keys):
            if len(_decode_key(key.get_secret_value())) != 32:
                raise ValueError(f"secrets_keys[{index}]: a key is 32 bytes, base64url-encoded")
        return keys


class SecretsUnavailable(RuntimeError):
    """No key to seal with, or none of the keys opens this value (never says more)."""


def new_secrets_key() -> str:
    """A fresh key for ``HERALD_SECRETS_KEYS``."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def _decode_key(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        return b""


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:_KEY_ID_BYTES]


@dataclass(frozen=True)
class DerivedKey:
    """A key for one purpose, and the id of the configured key it comes from (not secret)."""

    key_id: str
    secret: bytes = field(repr=False)


class SecretBox:
    """Seals and opens secrets with the configured keys."""

    def __init__(self, settings: SecretsSettings) -> None:
        keys = [_decode_key(key.get_secret_value()) for key in settings.secrets_keys]
        self._keys = keys
        self._sealing = keys[0] if keys else None
        self._by_id = {_key_id(key): AESGCM(key) for key in keys}

    def derived_keys(self, purpose: str) -> list[DerivedKey]:
        """A key for ``purpose`` from each configured key, in their order (the first signs).

        Each is HMAC-SHA256 of the purpose under a configured key, so no two purposes, and not
        sealing either, ever use the same key material.
        """
        label = f"herald/{purpose}".encode()
        return [
            DerivedKey(_key_id(key).hex(), hmac.new(key, label, hashlib.sha256).digest())
            for key in self._keys
        ]

    @property
    def can_seal(self) -> bool:
        return self._sealing is not None

    def seal(self, plaintext: bytes, purpose: str) -> bytes:
        """``plaintext`` sealed for ``purpose`` (e.g. "app:shop/credential:apns")."""
        if self._sealing is None:
            raise SecretsUnavailable("HERALD_SECRETS_KEYS is not set: nothing can be sealed")
        nonce = os.urandom(_NONCE_BYTES)
        key_id = _key_id(self._sealing)
        sealed = self._by_id[key_id].encrypt(nonce, plaintext, purpose.encode())
        return _VERSION + key_id + nonce + sealed

    def open(self, sealed: bytes, purpose: str) -> bytes:
        """The plaintext of ``sealed``; SecretsUnavailable when no key opens it for ``purpose``."""
        header = len(_VERSION) + _KEY_ID_BYTES
        if len(sealed) < header + _NONCE_BYTES or sealed[:1] != _VERSION:
            raise SecretsUnavailable("not a sealed value")
        cipher = self._by_id.get(sealed[1:header])
        if cipher is None:
            raise SecretsUnavailable("sealed with a key this deployment does not have")
        try:
            return cipher.decrypt(
                sealed[header : header + _NONCE_BYTES],
                sealed[header + _NONCE_BYTES :],
                purpose.encode(),
            )
        except InvalidTag:
            raise SecretsUnavailable("the sealed value does not open for this purpose") from None
