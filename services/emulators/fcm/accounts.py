"""Service accounts: generate fresh ones at run time and load the ones the emulator trusts.

Keys are never committed: devstack and tests call ``write_service_account`` to mint a key pair and a
Google-format JSON file whose ``token_uri`` points at the emulator.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

GOOGLE_OAUTH_AUDIENCE = "https://oauth2.googleapis.com/token"


def generate_service_account(
    *, project_id: str, token_uri: str, client_email: str | None = None
) -> dict[str, str]:
    """A new service account in Google's JSON key-file format, with a fresh 2048-bit RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    email = client_email or f"herald-dispatcher@{project_id}.iam.gserviceaccount.com"
    return {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": email,
        "client_id": str(secrets.randbelow(10**20)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "universe_domain": "googleapis.com",
    }


def write_service_account(
    path: Path, *, project_id: str, token_uri: str, client_email: str | None = None
) -> dict[str, str]:
    """Generate a service account, write it to ``path`` readable by its owner only, return it."""
    account = generate_service_account(
        project_id=project_id, token_uri=token_uri, client_email=client_email
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(account, file, indent=2)
    return account


@dataclass(frozen=True)
class TrustedAccount:
    """What the emulator keeps of a service account: who it is and its public key."""

    client_email: str
    project_id: str
    key_id: str
    public_key: rsa.RSAPublicKey


class AccountError(ValueError):
    """A service-account file the emulator cannot use."""


def trusted_account(info: dict[str, Any]) -> TrustedAccount:
    """The public half of a service account given as its JSON key-file content."""
    missing = [
        name
        for name in ("client_email", "project_id", "private_key_id", "private_key")
        if not isinstance(info.get(name), str) or not info[name]
    ]
    if missing:
        raise AccountError(f"service account lacks {', '.join(missing)}")
    key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise AccountError(f"{info['client_email']}: the private key is not an RSA key")
    return TrustedAccount(
        client_email=info["client_email"],
        project_id=info["project_id"],
        key_id=info["private_key_id"],
        public_key=key.public_key(),
    )


def load_trusted_accounts(paths: list[Path]) -> dict[str, TrustedAccount]:
    """Read service-account files; the result is keyed by client email (the JWT issuer)."""
    accounts: dict[str, TrustedAccount] = {}
    for path in paths:
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise AccountError(f"{path}: cannot read a service account: {exc}") from None
        if not isinstance(info, dict):
            raise AccountError(f"{path}: a service account file holds a JSON object")
        account = trusted_account(info)
        accounts[account.client_email] = account
    return accounts
