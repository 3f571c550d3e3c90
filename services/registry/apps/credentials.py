"""Checking provider credentials before they are stored, so a bad file fails at the CLI, not later.

Each reader takes the operator's files and returns what is stored: public settings, and the secret
bytes to seal. Error messages name the problem, never the secret.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from contracts.apps import CredentialKind
from contracts.push import Platform

_APPLE_ID = re.compile(r"^[A-Z0-9]{10}$")
_BUNDLE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,154}$")
ENVIRONMENTS = ("production", "sandbox")


class CredentialError(ValueError):
    """The credential cannot work; the message says why without quoting it."""


@dataclass(frozen=True)
class CheckedCredential:
    """What gets stored for one platform."""

    platform: Platform
    kind: CredentialKind
    settings: dict[str, str]
    secret: bytes


def _p256_private_key(pem: bytes, what: str) -> None:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise CredentialError(f"{what}: not a PEM private key without a password") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise CredentialError(f"{what}: must be an EC P-256 key")


def _check_topic_environment(topic: str, environment: str) -> None:
    if not _BUNDLE_ID.match(topic):
        raise CredentialError("topic: expected the app's bundle id, such as com.example.app")
    if environment not in ENVIRONMENTS:
        raise CredentialError(f"environment: one of {', '.join(ENVIRONMENTS)}")


def apns_token(
    key_pem: bytes, *, key_id: str, team_id: str, topic: str, environment: str
) -> CheckedCredential:
    """Token-based APNs auth: the .p8 key, its 10-character key id and the team id."""
    _p256_private_key(key_pem, "key file")
    if not _APPLE_ID.match(key_id):
        raise CredentialError("key id: 10 upper-case letters or digits")
    if not _APPLE_ID.match(team_id):
        raise CredentialError("team id: 10 upper-case letters or digits")
    _check_topic_environment(topic, environment)
    return CheckedCredential(
        "apns",
        "apns_token",
        {"key_id": key_id, "team_id": team_id, "topic": topic, "environment": environment},
        key_pem,
    )


def apns_certificate(pem: bytes, *, topic: str, environment: str) -> CheckedCredential:
    """Certificate-based APNs auth: one PEM holding the certificate and its private key."""
    try:
        x509.load_pem_x509_certificate(pem)
        serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise CredentialError(
            "certificate file: a PEM with the certificate and its unencrypted private key"
        ) from None
    _check_topic_environment(topic, environment)
    return CheckedCredential(
        "apns", "apns_certificate", {"topic": topic, "environment": environment}, pem
    )


def fcm_service_account(document: bytes) -> CheckedCredential:
    """A Google service-account JSON key file."""
    try:
        info = json.loads(document)
    except ValueError:
        raise CredentialError("service account: not JSON") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise CredentialError(
            'service account: expected a JSON key file of "type": "service_account"'
        )
    for field in ("project_id", "client_email", "private_key", "token_uri"):
        if not isinstance(info.get(field), str) or not info[field]:
            raise CredentialError(f"service account: {field} is missing")
    try:
        key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    except (ValueError, TypeError):
        raise CredentialError("service account: private_key is not a PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialError("service account: private_key must be an RSA key")
    return CheckedCredential(
        "fcm",
        "fcm_service_account",
        {"project_id": info["project_id"], "client_email": info["client_email"]},
        document,
    )


def vapid(key_pem: bytes, *, subject: str) -> CheckedCredential:
    """The app's VAPID key pair (its private key) and the contact it signs with."""
    _p256_private_key(key_pem, "VAPID key file")
    if not subject.startswith(("mailto:", "https://")):
        raise CredentialError("subject: a mailto: or https: URL push services can contact")
    return CheckedCredential("webpush", "vapid", {"subject": subject}, key_pem)
