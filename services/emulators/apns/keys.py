"""APNs signing keys (.p8): generate fresh ones at run time and load the ones the emulator trusts.

Apple names a downloaded key ``AuthKey_<KEY ID>.p8``; the emulator reads the key id from that name,
so a stack hands both sides the same file and nothing is committed.
"""

from __future__ import annotations

import os
import re
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

KEY_FILE = re.compile(r"^AuthKey_([A-Z0-9]{10})\.p8$")


class KeyFileError(ValueError):
    """A key file the emulator cannot use."""


def new_key_id() -> str:
    """Ten upper-case letters and digits, like Apple's key ids."""
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(10))


def write_auth_key(folder: Path, key_id: str | None = None) -> Path:
    """Write a new P-256 signing key as ``folder/AuthKey_<id>.p8`` (owner-only) and return it."""
    key_id = key_id or new_key_id()
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"AuthKey_{key_id}.p8"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    return path


def key_id_of(path: Path) -> str:
    """The key id in an ``AuthKey_<id>.p8`` file name."""
    match = KEY_FILE.match(path.name)
    if match is None:
        raise KeyFileError(f"{path.name}: APNs key files are named AuthKey_<10-character id>.p8")
    return match.group(1)


@dataclass(frozen=True)
class TrustedKey:
    """The public half of a signing key, and the team it belongs to."""

    key_id: str
    team_id: str
    public_key: ec.EllipticCurvePublicKey


def load_trusted_keys(paths: list[Path], team_id: str) -> dict[str, TrustedKey]:
    """Public keys of ``paths`` by key id, all of team ``team_id``."""
    keys: dict[str, TrustedKey] = {}
    for path in paths:
        key_id = key_id_of(path)
        try:
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise KeyFileError(f"{path}: not a readable .p8 key: {exc}") from None
        if not isinstance(private, ec.EllipticCurvePrivateKey):
            raise KeyFileError(f"{path}: APNs keys are P-256 (ES256) keys")
        keys[key_id] = TrustedKey(key_id, team_id, private.public_key())
    return keys
