"""FCM credentials: a Google service-account JSON key, checked by one set of rules where an
operator stores it (the registry) and where a dispatcher signs its token grants with it. Messages
name the problem, never the key."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.platforms.base import CredentialsError, Stored, StoredCredential

REQUIRED = ("project_id", "client_email", "private_key", "token_uri")


@dataclass(frozen=True)
class ServiceAccount:
    """A checked key file: its content as google-auth takes it, and whom it names."""

    info: Mapping[str, Any]
    project_id: str
    client_email: str


def service_account(document: bytes, *, source: str) -> ServiceAccount:
    """The service account in a JSON key file's content."""
    problem = f"{source}: not a usable service account file"
    try:
        info = json.loads(document)
    except ValueError:
        raise CredentialsError(f"{problem}: not JSON") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise CredentialsError(f'{problem}: expected a JSON key file of "type": "service_account"')
    for field in REQUIRED:
        if not isinstance(info.get(field), str) or not info[field]:
            raise CredentialsError(f"{problem}: {field} is missing")
    try:
        key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    except (ValueError, TypeError):
        raise CredentialsError(f"{problem}: private_key is not a PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialsError(f"{problem}: private_key must be an RSA key")
    return ServiceAccount(info, info["project_id"], info["client_email"])


def parse(stored: Stored) -> ServiceAccount:
    """The service account an app stored; raise CredentialsError naming what is wrong."""
    if stored.kind != "fcm_service_account":
        raise CredentialsError(f"a {stored.kind} credential is not an FCM one")
    return service_account(stored.secret, source="service account")


def service_account_credential(document: bytes) -> StoredCredential:
    """What the registry stores: the key file, and whom it names as public settings."""
    account = service_account(document, source="service account")
    settings = {"project_id": account.project_id, "client_email": account.client_email}
    return StoredCredential("fcm", "fcm_service_account", settings, document)
