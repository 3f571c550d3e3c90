"""FCM credentials: a Google service-account JSON key, checked by one set of rules where an
operator stores it (the registry) and where a dispatcher signs its token grants with it. Messages
name the problem, never the key.

A key file's ``token_uri`` is never where a dispatcher sends its grants (that is the operator's
HERALD_FCM_TOKEN_URI, Google's by default), so a tenant's file cannot aim Herald's requests
elsewhere; storing a file that names another endpoint is refused, so the mismatch is seen at once.
The project id goes into the send URL's path, so it must be a project id and nothing more.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.platforms.base import CredentialsError, Stored, StoredCredential

REQUIRED = ("project_id", "client_email", "private_key", "token_uri")
#: Google's OAuth 2.0 token endpoint, the only one a real service-account key names.
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL, not a secret
#: Google's project ids (lower-case letters, digits and hyphens, starting with a letter), with
#: the domain prefix of legacy domain-scoped projects ("example.com:project").
_PROJECT_ID = re.compile(r"(?:[a-z0-9][a-z0-9.-]*:)?[a-z][a-z0-9-]{0,62}")


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
    if not _PROJECT_ID.fullmatch(info["project_id"]):
        raise CredentialsError(
            f"{problem}: project_id is lower-case letters, digits and hyphens, "
            "starting with a letter"
        )
    return ServiceAccount(info, info["project_id"], info["client_email"])


def parse(stored: Stored) -> ServiceAccount:
    """The service account an app stored; raise CredentialsError naming what is wrong."""
    if stored.kind != "fcm_service_account":
        raise CredentialsError(f"a {stored.kind} credential is not an FCM one")
    return service_account(stored.secret, source="service account")


def service_account_credential(
    document: bytes, *, token_uris: Collection[str] = (GOOGLE_TOKEN_URI,)
) -> StoredCredential:
    """What the registry stores: the key file, and whom it names as public settings. Its
    ``token_uri`` must be one of ``token_uris`` (Google's, or the operator's HERALD_FCM_TOKEN_URI):
    dispatchers send token grants there only."""
    account = service_account(document, source="service account")
    token_uri = account.info["token_uri"]
    if token_uri not in token_uris:
        raise CredentialsError(
            f"service account: its token_uri is {token_uri!r}; Herald sends token grants only to "
            f"{', '.join(sorted(token_uris))} (HERALD_FCM_TOKEN_URI)"
        )
    settings = {"project_id": account.project_id, "client_email": account.client_email}
    return StoredCredential("fcm", "fcm_service_account", settings, document)
