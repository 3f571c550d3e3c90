"""VAPID (RFC 8292): the ES256 JWT that tells a push service who sends, one per push-service origin.

A token is signed once per origin and reused until it is within a tenth of its lifetime of expiring;
its lifetime is at most 24 hours (RFC 8292 section 2). The header is ``vapid t=<jwt>, k=<key>``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from shared.clock import Clock
from shared.platforms.base import CredentialsError
from shared.platforms.webpush.credentials import application_server_key, vapid_key

MAX_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True)
class _Signed:
    header: str
    renew_at: datetime


class VapidSigner:
    """Authorization headers for push services, cached per origin."""

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        subject: str,
        clock: Clock,
        lifetime: timedelta,
    ) -> None:
        if lifetime > MAX_LIFETIME:
            raise CredentialsError("a VAPID token lives at most 24 hours (RFC 8292)")
        self._key = key
        self._subject = subject
        self._clock = clock
        self._lifetime = lifetime
        self._cache: dict[str, _Signed] = {}
        self.public_key = application_server_key(key)
        self.signed = 0

    def header(self, origin: str) -> str:
        """``vapid t=..., k=...`` for the push service at ``origin`` (scheme://host[:port])."""
        now = self._clock.now()
        cached = self._cache.get(origin)
        if cached is not None and now < cached.renew_at:
            return cached.header
        expires = now + self._lifetime
        token = jwt.encode(
            {"aud": origin, "exp": int(expires.timestamp()), "sub": self._subject},
            self._key,
            algorithm="ES256",
        )
        signed = _Signed(f"vapid t={token}, k={self.public_key}", expires - self._lifetime / 10)
        self._cache[origin] = signed
        self.signed += 1
        return signed.header


def base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def load_vapid_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The VAPID private key of the PEM file named in settings."""
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise CredentialsError(f"{path}: cannot read the VAPID key: {exc}") from None
    return vapid_key(pem, source=str(path))
