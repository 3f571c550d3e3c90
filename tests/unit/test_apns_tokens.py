"""The APNs provider token: one for every connection, re-signed between 20 and 60 minutes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import jwt
import pytest

from services.dispatcher.platforms.apns.tokens import ProviderTokens, load_provider_tokens
from services.emulators.apns.keys import load_trusted_keys, write_auth_key
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


def test_the_same_token_is_reused_until_the_refresh_time(tmp_path: Path) -> None:
    clock = FrozenClock()
    subject, _ = tokens(tmp_path, clock, minutes=40)
    first = subject.get_header()

    clock.advance(minutes=39)
    assert subject.get_header() == first
    clock.advance(minutes=1)
    assert subject.get_header() != first
    assert subject.signed == 2


def test_a_stale_verdict_on_a_young_token_does_not_re_sign(tmp_path: Path) -> None:
    clock = FrozenClock()
    subject, _ = tokens(tmp_path, clock)
    first = subject.get_header()

    clock.advance(minutes=5)
    assert subject.stale() is False
    assert subject.get_header() == first
    clock.advance(minutes=20)
    assert subject.stale() is True
    assert subject.get_header() != first


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
