"""Web Push credentials: an app's VAPID key (P-256) and the contact it signs with, checked by one
set of rules where an operator stores them (the registry) and where a dispatcher signs with them.
Messages name the problem, never the key."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from shared.platforms.base import CredentialsError, Stored, StoredCredential, p256_private_key

SUBJECT_SCHEMES = ("mailto:", "https://")


@dataclass(frozen=True)
class VapidCredential:
    """What a dispatcher signs VAPID tokens with, and the ``sub`` claim it sends."""

    key: ec.EllipticCurvePrivateKey
    subject: str


def vapid_key(pem: bytes, *, source: str) -> ec.EllipticCurvePrivateKey:
    """The VAPID private key in PEM bytes."""
    return p256_private_key(pem, source=source, what="VAPID key")


def application_server_key(key: ec.EllipticCurvePrivateKey) -> str:
    """The public half of a VAPID key as a web page passes it to ``pushManager.subscribe()``
    (``applicationServerKey``) and as the ``k=`` of a VAPID header carries it: the uncompressed
    P-256 point, base64url without padding (RFC 8292 section 3.2)."""
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode()


def parse(stored: Stored) -> VapidCredential:
    """The VAPID credential an app stored; raise CredentialsError naming what is wrong."""
    if stored.kind != "vapid":
        raise CredentialsError(f"a {stored.kind} credential is not a Web Push one")
    key = vapid_key(stored.secret, source="VAPID key file")
    subject = stored.settings.get("subject", "")
    if not subject.startswith(SUBJECT_SCHEMES):
        raise CredentialsError("subject: a mailto: or https: URL push services can contact")
    return VapidCredential(key, subject)


def vapid_credential(key_pem: bytes, *, subject: str) -> StoredCredential:
    """What the registry stores: the app's VAPID private key and its contact."""
    stored = StoredCredential("webpush", "vapid", {"subject": subject}, key_pem)
    parse(stored)
    return stored
