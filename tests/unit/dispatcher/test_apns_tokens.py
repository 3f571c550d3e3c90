"""The APNs provider token: one per period for a team's key, the same text on every connection,
replica and restart, so Apple never sees it change more often than once a period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from services.dispatcher.platforms.apns.tokens import ProviderTokens, load_provider_tokens
from services.emulators.apns.keys import load_trusted_keys, write_auth_key
from shared.platforms.apns.credentials import SigningKey, signing_key
from shared.platforms.base import CredentialsError
from tests.support.clock import FrozenClock

pytestmark = pytest.mark.unit


def tokens(tmp_path: Path, clock: FrozenClock, minutes: float = 40) -> tuple[ProviderTokens, Path]:
    key = write_auth_key(tmp_path)
    return load_provider_tokens(key, None, "TEAM123456", clock, timedelta(minutes=minutes)), key


def test_the_token_is_an_es256_jwt_apple_can_verify(tmp_path: Path) -> None:
    clock = FrozenClock()
    subject, key_path = tokens(tmp_path, clock)

    scheme, token = subject.get_header().split(" ")

    trusted = load_trusted_keys([key_path], "TEAM123456")[subject.key_id]
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, trusted.public_key, algorithms=["ES256"])
    assert scheme == "bearer"
    assert (header["alg"], header["kid"]) == ("ES256", subject.key_id)
    assert claims == {"iss": "TEAM123456", "iat": int(clock.now().timestamp())}


def test_the_token_is_the_periods_from_its_start_to_its_end(tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 1, 15, 12, 13, 20, tzinfo=UTC))
    subject, _ = tokens(tmp_path, clock, minutes=40)
    period_start = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    first = subject.get_header()

    clock.advance(minutes=26, seconds=39)
    assert subject.get_header() == first
    clock.advance(seconds=1)
    second = subject.get_header()

    assert subject.issued_at() == int((period_start + timedelta(minutes=40)).timestamp())
    assert second != first
    claims = jwt.decode(first.split(" ")[1], options={"verify_signature": False})
    assert claims["iat"] == int(period_start.timestamp())
    assert subject.signed == 2


def test_every_replica_restart_and_app_of_the_team_presents_the_same_token(
    tmp_path: Path,
) -> None:
    key_path = write_auth_key(tmp_path)
    clock = FrozenClock(datetime(2026, 1, 15, 12, 7, tzinfo=UTC))
    replica = load_provider_tokens(key_path, None, "TEAM123456", clock, timedelta(minutes=40))
    clock.advance(minutes=11)
    restarted = load_provider_tokens(key_path, None, "TEAM123456", clock, timedelta(minutes=40))
    key = SigningKey(signing_key(key_path.read_bytes(), source="p8"), replica.key_id, "TEAM123456")
    other_app = ProviderTokens(key, clock, timedelta(minutes=40))

    assert replica.get_header() == restarted.get_header() == other_app.get_header()


@pytest.mark.parametrize("minutes", [10, 60, 90])
def test_refresh_outside_apples_window_is_refused(tmp_path: Path, minutes: float) -> None:
    with pytest.raises(CredentialsError, match="between 20 and 60 minutes"):
        tokens(tmp_path, FrozenClock(), minutes=minutes)


def test_the_key_id_comes_from_the_file_name_or_must_be_given(tmp_path: Path) -> None:
    clock = FrozenClock()
    key = write_auth_key(tmp_path, "ABCDEFGHIJ")
    renamed = key.rename(tmp_path / "signing.p8")

    named = load_provider_tokens(renamed, "KID", "T", clock, timedelta(minutes=30))
    assert named.key_id == "KID"
    with pytest.raises(CredentialsError, match="HERALD_APNS_KEY_ID"):
        load_provider_tokens(renamed, None, "T", clock, timedelta(minutes=30))
    with pytest.raises(CredentialsError, match="HERALD_APNS_TEAM_ID"):
        load_provider_tokens(renamed, "KID", None, clock, timedelta(minutes=30))


def test_a_file_that_is_not_a_key_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "AuthKey_ABCDEFGHIJ.p8"
    bogus.write_text("not a key")

    with pytest.raises(CredentialsError, match="not a usable ES256"):
        load_provider_tokens(bogus, None, "T", FrozenClock(), timedelta(minutes=30))
