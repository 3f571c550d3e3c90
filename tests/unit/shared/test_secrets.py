"""Sealed secrets open only with a configured key and only for the purpose they were sealed for."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from shared.secrets import SecretBox, SecretsSettings, SecretsUnavailable, new_secrets_key

pytestmark = pytest.mark.unit


def box(*keys: str) -> SecretBox:
    return SecretBox(SecretsSettings(secrets_keys=[SecretStr(k) for k in keys]))


def test_a_sealed_value_opens_for_its_purpose_only() -> None:
    key = new_secrets_key()
    sealed = box(key).seal(b"p8 key material", "app:a/credential:apns")

    assert box(key).open(sealed, "app:a/credential:apns") == b"p8 key material"
    assert b"p8 key material" not in sealed
    with pytest.raises(SecretsUnavailable):
        box(key).open(sealed, "app:b/credential:apns")


def test_rotation_seals_with_the_first_key_and_opens_with_any() -> None:
    old, new = new_secrets_key(), new_secrets_key()
    sealed_before = box(old).seal(b"s", "p")

    rotated = box(new, old)

    assert rotated.open(sealed_before, "p") == b"s"
    assert box(new).open(rotated.seal(b"t", "p"), "p") == b"t"
    with pytest.raises(SecretsUnavailable, match="key this deployment does not have"):
        box(new).open(sealed_before, "p")


def test_tampering_and_garbage_do_not_open() -> None:
    key = new_secrets_key()
    sealed = bytearray(box(key).seal(b"secret", "p"))
    sealed[-1] ^= 1

    with pytest.raises(SecretsUnavailable):
        box(key).open(bytes(sealed), "p")
    with pytest.raises(SecretsUnavailable):
        box(key).open(b"short", "p")


def test_nothing_is_sealed_without_a_key() -> None:
    with pytest.raises(SecretsUnavailable, match="HERALD_SECRETS_KEYS"):
        box().seal(b"x", "p")


def test_malformed_keys_are_refused_in_settings() -> None:
    with pytest.raises(ValidationError, match="32 bytes"):
        SecretsSettings(secrets_keys=[SecretStr("too-short")])
