"""VAPID tokens: one per push-service origin, reused, renewed before expiry, never over 24 h."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from services.dispatcher.platforms.webpush.vapid import VapidSigner, load_vapid_key
from services.emulators.webpush.keys import write_vapid_key
from shared.platforms.base import CredentialsError
from tests.support.clock import FrozenClock

pytestmark = pytest.mark.unit


def signer(clock: FrozenClock, hours: float = 12) -> VapidSigner:
    key = ec.generate_private_key(ec.SECP256R1())
    return VapidSigner(key, "mailto:a@b.c", clock, timedelta(hours=hours))


def test_one_token_per_origin_reused_until_close_to_expiry() -> None:
    clock = FrozenClock()
    subject = signer(clock, hours=10)
    first = subject.header("https://fcm.googleapis.com")

    assert subject.header("https://fcm.googleapis.com") == first
    assert subject.header("https://updates.push.services.mozilla.com") != first
    clock.advance(hours=8, minutes=59)
    assert subject.header("https://fcm.googleapis.com") == first
    clock.advance(minutes=1)
    assert subject.header("https://fcm.googleapis.com") != first
    assert subject.signed == 3


def test_a_lifetime_over_24_hours_is_refused() -> None:
    with pytest.raises(CredentialsError, match="24 hours"):
        signer(FrozenClock(), hours=25)


def test_the_key_file_must_hold_a_p256_private_key(tmp_path: Path) -> None:
    path = tmp_path / "vapid.pem"
    public = write_vapid_key(path)

    key = load_vapid_key(path)
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("nope")

    assert VapidSigner(key, "mailto:a@b.c", FrozenClock(), timedelta(hours=1)).public_key == public
    with pytest.raises(CredentialsError, match="not a readable PEM"):
        load_vapid_key(bogus)
