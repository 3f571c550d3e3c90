"""The APNs provider authentication token (ES256 JWT): the same on every connection, replica and
restart for one (team, key) in one period.

Apple refuses a token older than an hour, and a token that changes more often than every 20
minutes (429 TooManyProviderTokenUpdates; Apple engineers: per connection), while "you can use the
same token from multiple provider servers" ("Establishing a token-based connection to APNs"). So
the token is derived, not remembered: its ``iat`` is the start of the current period
(``refresh_after``, counted from the Unix epoch) and its signature is deterministic (RFC 6979), so
every dispatcher signs the very same text for a team's key in a period — a restart or a second
replica presents the token Apple has seen, and apps of one team with one key share it. A token is
at most one period old, and a connection sees it change once a period.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import timedelta
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from shared.clock import Clock
from shared.platforms.apns.credentials import SigningKey, signing_key
from shared.platforms.base import CredentialsError

log = logging.getLogger(__name__)

MIN_LIFETIME = timedelta(minutes=20)
MAX_LIFETIME = timedelta(minutes=60)
_DETERMINISTIC_ES256 = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def provider_token(key: SigningKey, issued_at: int) -> str:
    """The JWT Apple expects (header alg and kid; claims iss and iat), signed per RFC 6979: the
    same key and time always give the same text."""
    header = _b64(json.dumps({"alg": "ES256", "kid": key.key_id}, separators=(",", ":")).encode())
    claims = _b64(
        json.dumps({"iss": key.team_id, "iat": issued_at}, separators=(",", ":")).encode()
    )
    signing_input = f"{header}.{claims}"
    r, s = decode_dss_signature(key.key.sign(signing_input.encode(), _DETERMINISTIC_ES256))
    return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


class ProviderTokens:
    """``bearer <jwt>`` for APNs: the current period's token, signed once per period here."""

    def __init__(self, key: SigningKey, clock: Clock, refresh_after: timedelta) -> None:
        if not MIN_LIFETIME <= refresh_after < MAX_LIFETIME:
            raise CredentialsError("refresh the provider token between 20 and 60 minutes")
        self._key = key
        self.key_id = key.key_id
        self.team_id = key.team_id
        self._clock = clock
        self._period = int(refresh_after.total_seconds())
        self._current: tuple[int, str] | None = None
        self.signed = 0
        try:
            self.get_header()
        except UnsupportedAlgorithm as error:
            raise CredentialsError(f"deterministic ECDSA is unavailable: {error}") from None

    def issued_at(self) -> int:
        """The ``iat`` of the current period's token (Unix seconds)."""
        now = int(self._clock.now().timestamp())
        return now - now % self._period

    def get_header(self) -> str:
        issued_at = self.issued_at()
        current = self._current
        if current is None or current[0] != issued_at:
            current = (issued_at, f"bearer {provider_token(self._key, issued_at)}")
            self._current = current
            self.signed += 1
            log.info("APNs provider token of key %s for the period from %d", self.key_id, issued_at)
        return current[1]


def load_provider_tokens(
    key_file: Path, key_id: str | None, team_id: str | None, clock: Clock, refresh_after: timedelta
) -> ProviderTokens:
    """Tokens from a .p8 file named in settings; the key id defaults to the one in
    ``AuthKey_<id>.p8``."""
    if team_id is None:
        raise CredentialsError("HERALD_APNS_TEAM_ID is required with HERALD_APNS_KEY_FILE")
    if key_id is None:
        stem = key_file.stem
        if not stem.startswith("AuthKey_"):
            raise CredentialsError(
                "HERALD_APNS_KEY_ID is required unless the key file is named AuthKey_<id>.p8"
            )
        key_id = stem.removeprefix("AuthKey_")
    try:
        pem = key_file.read_bytes()
    except OSError as exc:
        raise CredentialsError(f"{key_file}: cannot read the .p8 key: {exc}") from None
    key = SigningKey(signing_key(pem, source=str(key_file)), key_id, team_id)
    return ProviderTokens(key, clock, refresh_after)
