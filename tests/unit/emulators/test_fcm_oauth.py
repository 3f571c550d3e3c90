"""The emulator's token endpoint checks a service-account JWT the way Google does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest

from services.emulators.fcm.accounts import (
    GOOGLE_OAUTH_AUDIENCE,
    generate_service_account,
    trusted_account,
)
from services.emulators.fcm.oauth import JWT_BEARER_GRANT, GrantError, TokenIssuer
from tests.support.clock import FrozenClock

pytestmark = pytest.mark.unit

ACCOUNT = generate_service_account(project_id="proj-a", token_uri="http://127.0.0.1:1/token")
OTHER = generate_service_account(project_id="proj-a", token_uri="http://127.0.0.1:1/token")
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"


def issuer(clock: FrozenClock) -> TokenIssuer:
    account = trusted_account(ACCOUNT)
    return TokenIssuer({account.client_email: account}, clock, timedelta(seconds=3599))


def assertion(
    clock: FrozenClock,
    *,
    key: dict[str, str] = ACCOUNT,
    kid: str | None = None,
    lifetime: int = 3600,
    **claims: Any,
) -> str:
    issued = int(clock.now().timestamp())
    payload: dict[str, Any] = {
        "iss": ACCOUNT["client_email"],
        "aud": GOOGLE_OAUTH_AUDIENCE,
        "scope": SCOPE,
        "iat": issued,
        "exp": issued + lifetime,
    }
    payload.update(claims)
    headers = {"kid": kid if kid is not None else key["private_key_id"]}
    return jwt.encode(payload, key["private_key"], algorithm="RS256", headers=headers)


def form(value: str) -> dict[str, str]:
    return {"grant_type": JWT_BEARER_GRANT, "assertion": value}


def refused(subject: TokenIssuer, data: dict[str, str]) -> GrantError:
    with pytest.raises(GrantError) as caught:
        subject.grant(data)
    return caught.value


def test_a_valid_assertion_gets_a_token_for_its_project_and_scopes() -> None:
    clock = FrozenClock()
    subject = issuer(clock)

    token = subject.grant(form(assertion(clock)))

    assert token.project_id == "proj-a"
    assert token.scopes == {SCOPE}
    assert subject.lookup(token.value) == token


def test_an_access_token_stops_working_when_it_expires() -> None:
    clock = FrozenClock()
    subject = issuer(clock)
    token = subject.grant(form(assertion(clock)))

    clock.advance(seconds=3598)
    assert subject.lookup(token.value) is not None
    clock.advance(seconds=1)
    assert subject.lookup(token.value) is None
    assert subject.lookup("ya29.never-issued") is None


def test_a_signature_by_another_key_is_refused() -> None:
    clock = FrozenClock()

    error = refused(issuer(clock), form(assertion(clock, key=OTHER, kid=ACCOUNT["private_key_id"])))

    assert (error.error, error.description) == ("invalid_grant", "Invalid JWT Signature.")


def test_a_kid_that_is_not_the_accounts_key_is_refused() -> None:
    clock = FrozenClock()

    error = refused(issuer(clock), form(assertion(clock, kid="0" * 40)))

    assert error.description == "Invalid JWT Signature."


def test_the_audience_must_be_googles_token_endpoint() -> None:
    clock = FrozenClock()
    value = assertion(clock, aud="http://127.0.0.1:1/token")

    error = refused(issuer(clock), form(value))

    assert error.error == "invalid_grant"
    assert "audience" in error.description


@pytest.mark.parametrize(
    ("advance", "lifetime"),
    [
        (timedelta(hours=2), 3600),
        (timedelta(seconds=-300), 3600),
        (timedelta(0), 3601),
        (timedelta(0), 0),
    ],
)
def test_expired_future_or_long_lived_assertions_are_refused(
    advance: timedelta, lifetime: int
) -> None:
    clock = FrozenClock()
    value = assertion(clock, lifetime=lifetime)
    clock.current += advance

    error = refused(issuer(clock), form(value))

    assert error.error == "invalid_grant"
    assert "short-lived" in error.description


def test_an_unknown_service_account_is_refused() -> None:
    clock = FrozenClock()

    error = refused(issuer(clock), form(assertion(clock, iss="someone@else.example")))

    assert error.description == "Invalid grant: account not found"


def test_an_empty_scope_is_refused() -> None:
    clock = FrozenClock()

    assert refused(issuer(clock), form(assertion(clock, scope=""))).error == "invalid_scope"


def test_acting_for_another_user_is_refused() -> None:
    clock = FrozenClock()

    error = refused(issuer(clock), form(assertion(clock, sub="user@example.com")))

    assert error.error == "unauthorized_client"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"grant_type": "client_credentials", "assertion": "x"}, "unsupported_grant_type"),
        ({"grant_type": JWT_BEARER_GRANT}, "invalid_request"),
        ({"grant_type": JWT_BEARER_GRANT, "assertion": "not.a.jwt"}, "invalid_grant"),
    ],
)
def test_malformed_grants_are_refused(data: dict[str, str], error: str) -> None:
    assert refused(issuer(FrozenClock()), data).error == error


def test_unsigned_assertions_are_refused() -> None:
    clock = FrozenClock()
    issued = int(clock.now().timestamp())
    claims = {
        "iss": ACCOUNT["client_email"],
        "aud": GOOGLE_OAUTH_AUDIENCE,
        "scope": SCOPE,
        "iat": issued,
        "exp": issued + 60,
    }
    value = jwt.encode(claims, "shared-secret-that-is-long-enough-for-hs256!", algorithm="HS256")

    assert "RS256" in refused(issuer(clock), form(value)).description
