"""Who may take over a device token another user holds."""

from __future__ import annotations

import pytest

from services.registry.devices.ownership import (
    Claim,
    claim,
    issues_secret,
    new_device_secret,
    secret_digest,
)
from tests.support.clock import FrozenClock
from tests.support.factories import device

pytestmark = pytest.mark.unit

SECRET = new_device_secret()
NOW = FrozenClock().now()


def test_a_new_token_and_its_own_user_are_fine() -> None:
    assert (
        claim(None, "bob", by_server=False, presented_secret=None, stored_digest=None) is Claim.NEW
    )
    held = device(NOW, user_id="bob")
    assert (
        claim(held, "bob", by_server=False, presented_secret=None, stored_digest=None)
        is Claim.SAME_USER
    )


@pytest.mark.parametrize(
    ("by_server", "active", "presented", "expected"),
    [
        (True, True, None, Claim.TAKE_OVER),
        (False, False, None, Claim.TAKE_OVER),
        (False, True, SECRET, Claim.TAKE_OVER),
        (False, True, None, Claim.REFUSED),
        (False, True, "a-wrong-secret", Claim.REFUSED),
    ],
    ids=["by-server", "inactive", "right-secret", "no-secret", "wrong-secret"],
)
def test_taking_a_token_from_another_user(
    by_server: bool, active: bool, presented: str | None, expected: Claim
) -> None:
    held = device(NOW, user_id="alice", active=active)

    outcome = claim(
        held,
        "mallory",
        by_server=by_server,
        presented_secret=presented,
        stored_digest=secret_digest(SECRET),
    )

    assert outcome is expected


def test_a_device_without_a_stored_secret_cannot_be_proven() -> None:
    held = device(NOW, user_id="alice")

    assert (
        claim(held, "bob", by_server=False, presented_secret=SECRET, stored_digest=None)
        is Claim.REFUSED
    )


def test_new_bindings_get_a_fresh_secret() -> None:
    assert issues_secret(Claim.NEW, None)
    assert issues_secret(Claim.TAKE_OVER, "d")
    assert not issues_secret(Claim.SAME_USER, "d")
    assert issues_secret(Claim.SAME_USER, None)
