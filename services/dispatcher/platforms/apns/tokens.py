"""The provider authentication token (ES256 JWT) every APNs connection of a deployment shares.

Apple refuses tokens older than an hour and providers that change tokens more often than every
20 minutes (TooManyProviderTokenUpdates), so one token is signed, reused by every connection, and
replaced after ``refresh_after`` (20 to 60 minutes) — never sooner, even when APNs calls it stale.
aioapns signs one per connection instead; the aioapns adapter hands it this object's header.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import jwt

from shared.clock import Clock
from shared.platforms.apns.credentials import SigningKey, signing_key
from shared.platforms.base import CredentialsError

log = logging.getLogger(__name__)

MIN_LIFETIME = timedelta(minutes=20)
MAX_LIFETIME = timedelta(minutes=60)


@dataclass(frozen=True)
class _Signed:
    header: str
    issued_at: datetime


class ProviderTokens:
    """``bearer <jwt>`` for APNs, signed with the team's key and refreshed on schedule."""

    def __init__(self, key: SigningKey, clock: Clock, refresh_after: timedelta) -> None:
        if not MIN_LIFETIME <= refresh_after < MAX_LIFETIME:
            raise CredentialsError("refresh the provider token between 20 and 60 minutes")
        self._key = key.key
        self.key_id = key.key_id
        self.team_id = key.team_id
        self._clock = clock
        self._refresh_after = refresh_after
        self._current: _Signed | None = None
        self.signed = 0

    def get_header(self) -> str:
        now = self._clock.now()
        current = self._current
        if current is None or now - current.issued_at >= self._refresh_after:
            current = self._sign(now)
        return current.header

    def stale(self) -> bool:
        """APNs called the token stale: sign anew if it is old enough, and say whether it was.

        A token younger than 20 minutes is kept: replacing it would be refused as too many updates.
        """
        current = self._current
        if current is None or self._clock.now() - current.issued_at >= MIN_LIFETIME:
            self._current = None
            return True
        log.warning("APNs calls a provider token stale that is under 20 minutes old; check clocks")
        return False

    def _sign(self, now: datetime) -> _Signed:
        token = jwt.encode(
            {"iss": self.team_id, "iat": int(now.timestamp())},
            self._key,
            algorithm="ES256",
            headers={"kid": self.key_id},
        )
        self._current = _Signed(f"bearer {token}", now)
        self.signed += 1
        log.info("signed a new APNs provider token with key %s", self.key_id)
        return self._current


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
