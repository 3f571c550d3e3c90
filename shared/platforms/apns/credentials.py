"""APNs credentials, checked by one set of rules where an operator stores them (the registry) and
where a dispatcher connects with them: a team's .p8 signing key or a client certificate, the app's
bundle id and Apple's environment. Messages name the problem, never the secret."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from contracts.push import ApnsEnvironment
from shared.platforms.apns.settings import BUNDLE_ID, BUNDLE_ID_EXPECTED, HOSTS
from shared.platforms.base import CredentialsError, Stored, StoredCredential, p256_private_key

ENVIRONMENTS = tuple(HOSTS)
_APPLE_ID = re.compile(r"^[A-Z0-9]{10}$")


@dataclass(frozen=True)
class SigningKey:
    """Token auth: the team's ES256 key with its key id, and the team id."""

    key: ec.EllipticCurvePrivateKey
    key_id: str
    team_id: str


@dataclass(frozen=True)
class ApnsCredential:
    """What a dispatcher connects with: the bundle id (apns-topic), Apple's environment, and a
    signing key or a PEM holding the client certificate and its key."""

    topic: str
    environment: ApnsEnvironment
    signing_key: SigningKey | None = None
    certificate_pem: bytes | None = None


def signing_key(pem: bytes, *, source: str) -> ec.EllipticCurvePrivateKey:
    """The ES256 key of a .p8 file's content."""
    return p256_private_key(pem, source=source, what="ES256 .p8 key")


def certificate(pem: bytes, *, source: str) -> bytes:
    """``pem`` once it holds a certificate and its unencrypted private key."""
    try:
        x509.load_pem_x509_certificate(pem)
        serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise CredentialsError(
            f"{source}: a PEM with the certificate and its unencrypted private key"
        ) from None
    return pem


def parse(stored: Stored) -> ApnsCredential:
    """The credential an app stored; raise CredentialsError naming what is wrong."""
    settings = stored.settings
    if stored.kind == "apns_token":
        key = signing_key(stored.secret, source="key file")
        key_id, team_id = settings.get("key_id", ""), settings.get("team_id", "")
        if not _APPLE_ID.match(key_id):
            raise CredentialsError("key id: 10 upper-case letters or digits")
        if not _APPLE_ID.match(team_id):
            raise CredentialsError("team id: 10 upper-case letters or digits")
        topic, environment = _topic_environment(stored)
        return ApnsCredential(topic, environment, signing_key=SigningKey(key, key_id, team_id))
    if stored.kind == "apns_certificate":
        pem = certificate(stored.secret, source="certificate file")
        topic, environment = _topic_environment(stored)
        return ApnsCredential(topic, environment, certificate_pem=pem)
    raise CredentialsError(f"a {stored.kind} credential is not an APNs one")


def token_credential(
    key_pem: bytes, *, key_id: str, team_id: str, topic: str, environment: str
) -> StoredCredential:
    """What the registry stores for token auth: the .p8 key, its key id and the team id."""
    settings = {"key_id": key_id, "team_id": team_id, "topic": topic, "environment": environment}
    stored = StoredCredential("apns", "apns_token", settings, key_pem)
    parse(stored)
    return stored


def certificate_credential(pem: bytes, *, topic: str, environment: str) -> StoredCredential:
    """What the registry stores for certificate auth: one PEM with the certificate and its key."""
    settings = {"topic": topic, "environment": environment}
    stored = StoredCredential("apns", "apns_certificate", settings, pem)
    parse(stored)
    return stored


def _topic_environment(stored: Stored) -> tuple[str, ApnsEnvironment]:
    topic, environment = stored.settings.get("topic", ""), stored.settings.get("environment", "")
    if not BUNDLE_ID.match(topic):
        raise CredentialsError(f"topic: {BUNDLE_ID_EXPECTED}")
    if environment not in HOSTS:
        raise CredentialsError(f"environment: one of {', '.join(ENVIRONMENTS)}")
    return topic, environment
