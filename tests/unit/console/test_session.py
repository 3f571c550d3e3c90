"""The session cookie opens only as sealed, within its age, and posts must carry its CSRF token."""

from __future__ import annotations

import time

import pytest
from cryptography.fernet import Fernet

from services.console.session import SessionBox, csrf_matches, new_session, plausible_key

pytestmark = pytest.mark.unit


def test_sealed_sessions_open_and_forged_or_foreign_ones_do_not() -> None:
    key = Fernet.generate_key().decode()
    box = SessionBox([key], max_age=60)
    session = new_session("hrld_secret", "demo")
    cookie = box.seal(session)
    assert "hrld_secret" not in cookie
    assert box.open(cookie) == session
    assert box.open(cookie[:-4] + "AAAA") is None
    assert box.open("") is None
    assert SessionBox([Fernet.generate_key().decode()], max_age=60).open(cookie) is None


def test_an_older_key_still_opens_during_rotation_and_age_ends_a_session() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    cookie = SessionBox([old], max_age=60).seal(new_session("k", None))
    assert SessionBox([new, old], max_age=60).open(cookie) is not None
    sealed_long_ago = Fernet(old).encrypt_at_time(
        new_session("k", None).model_dump_json().encode(), int(time.time()) - 120
    )
    assert SessionBox([old], max_age=60).open(sealed_long_ago.decode()) is None


def test_csrf_token_must_match() -> None:
    session = new_session("k", None)
    assert csrf_matches(session, session.csrf)
    assert not csrf_matches(session, None)
    assert not csrf_matches(session, session.csrf + "x")
    assert new_session("k", None).csrf != session.csrf


def test_only_printable_ascii_keys_are_tried() -> None:
    assert plausible_key("hk_" + "a" * 40)
    assert not any(map(plausible_key, ["", "hk_é", "hk_a\nb", "hk a", "x" * 513]))
