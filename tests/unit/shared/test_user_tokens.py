"""User tokens: only a fresh, well-formed token signed with the claimed app's key passes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from pydantic import SecretStr, ValidationError

from shared.tenancy.auth import (
    UserIdentity,
    UserTokens,
    UserTokenSettings,
    issue_user_token,
    new_signing_key,
)

pytestmark = pytest.mark.unit

KEY, OLD_KEY, OTHER_KEY = new_signing_key(), new_signing_key(), new_signing_key()
KEYS = {"app": [KEY, OLD_KEY], "other": [OTHER_KEY]}
TOKENS = UserTokens(lambda app: KEYS.get(app, []), max_lifetime_seconds=3600)


def token(
    key: str = KEY, app: str = "app", lifetime: timedelta = timedelta(minutes=5), **at: datetime
) -> str:
    return issue_user_token(
        app, "alice", key, now=at.get("now", datetime.now(UTC)), lifetime=lifetime
    )


def test_a_token_signed_with_a_current_or_previous_key_passes() -> None:
    assert TOKENS.verify(token()) == UserIdentity("app", "alice")
    assert TOKENS.verify(token(OLD_KEY)) == UserIdentity("app", "alice")


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(lambda: token(OTHER_KEY), id="another app's key"),
        pytest.param(lambda: token(OTHER_KEY, app="nosuchapp"), id="unknown app"),
        pytest.param(lambda: token(now=datetime.now(UTC) - timedelta(hours=1)), id="expired"),
        pytest.param(lambda: token(lifetime=timedelta(days=2)), id="lives too long"),
        pytest.param(
            lambda: jwt.encode({"iss": "app", "sub": "alice", "aud": "herald"}, KEY, "HS256"),
            id="no expiry",
        ),
        pytest.param(
            lambda: jwt.encode(
                {"iss": "app", "sub": "alice", "aud": "elsewhere", "iat": 0, "exp": 2**40},
                KEY,
                "HS256",
            ),
            id="wrong audience",
        ),
        pytest.param(lambda: "not-a-jwt", id="garbage"),
        pytest.param(
            lambda: jwt.encode(
                {"iss": "app", "sub": "alice", "aud": "herald"}, "", algorithm="none"
            ),
            id="unsigned",
        ),
    ],
)
def test_bad_tokens_are_refused(bad: object) -> None:
    assert TOKENS.verify(bad()) is None  # type: ignore[operator]


def test_short_signing_keys_are_refused_in_settings() -> None:
    with pytest.raises(ValidationError, match="shorter than 32"):
        UserTokenSettings(app_signing_keys={"app": [SecretStr("short")]})
