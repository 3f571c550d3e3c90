"""Signed records: the header names the key and the digest of the exact value bytes; anything
else (no header, two, a bad form, another key, other bytes) is told apart with a reason."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from shared.secrets import SecretBox, SecretsSettings, new_secrets_key
from shared.signatures import (
    SIGNATURE_HEADER,
    SignatureProblem,
    matches,
    presented,
    sign,
)
from shared.tenancy.announcements import AppsSignature

pytestmark = pytest.mark.unit

VALUE = b'{"type": "app.changed", "app_id": "shop"}'


def box(*keys: str) -> SecretBox:
    return SecretBox(SecretsSettings(secrets_keys=[SecretStr(k) for k in keys]))


def headers_of(signed: dict[str, str]) -> list[tuple[str, bytes | None]]:
    return [(name, value.encode()) for name, value in signed.items()]


def test_a_signature_names_its_key_and_matches_only_the_signed_bytes() -> None:
    header = sign("key-1", b"secret", VALUE)

    signature = presented(
        [("content-type", b"application/json"), (SIGNATURE_HEADER, header.encode())]
    )

    assert header.startswith("v1=key-1:")
    assert signature.key_id == "key-1"
    assert matches(b"secret", VALUE, signature)
    assert not matches(b"secret", VALUE + b" ", signature)
    assert not matches(b"other secret", VALUE, signature)


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ([], "not signed"),
        ([(SIGNATURE_HEADER, None)], "expected v1="),
        ([(SIGNATURE_HEADER, b"v2=k:" + b"0" * 64)], "expected v1="),
        ([(SIGNATURE_HEADER, b"v1=k:" + b"A" * 64)], "expected v1="),
        ([(SIGNATURE_HEADER, b"v1=k:00")], "expected v1="),
        ([(SIGNATURE_HEADER, b"v1=a/b:" + b"0" * 64)], "expected v1="),
        ([(SIGNATURE_HEADER, b"v1=k:" + b"0" * 64)] * 2, "carries 2"),
    ],
)
def test_unusable_signatures_are_refused_with_a_reason(
    headers: list[tuple[str, bytes | None]], problem: str
) -> None:
    with pytest.raises(SignatureProblem, match=problem):
        presented(headers)


def test_derived_keys_differ_per_purpose_and_follow_the_configured_order() -> None:
    old, new = new_secrets_key(), new_secrets_key()

    rotated = box(new, old).derived_keys("a")

    assert [k.secret for k in rotated] != [k.secret for k in box(new, old).derived_keys("b")]
    assert rotated[1] == box(old).derived_keys("a")[0]
    assert rotated[0].key_id != rotated[1].key_id
    assert repr(rotated[0].secret) not in repr(rotated[0])


def test_announcements_verify_with_any_configured_key_and_sign_with_the_first() -> None:
    old, new = new_secrets_key(), new_secrets_key()
    signed_before = AppsSignature(box(old)).headers(VALUE)
    rotated = AppsSignature(box(new, old))
    signed_after = rotated.headers(VALUE)

    assert rotated.refusal(VALUE, headers_of(signed_before)) is None
    assert rotated.refusal(VALUE, headers_of(signed_after)) is None
    assert "not one of HERALD_SECRETS_KEYS" in str(
        AppsSignature(box(old)).refusal(VALUE, headers_of(signed_after))
    )


def test_announcements_signed_elsewhere_or_altered_are_refused() -> None:
    key = new_secrets_key()
    mine = AppsSignature(box(key))
    forged = AppsSignature(box(new_secrets_key())).headers(VALUE)
    genuine = mine.headers(VALUE)

    assert "not one of HERALD_SECRETS_KEYS" in str(mine.refusal(VALUE, headers_of(forged)))
    assert "does not match" in str(
        mine.refusal(VALUE.replace(b"shop", b"shoq"), headers_of(genuine))
    )
    assert "not signed" in str(mine.refusal(VALUE, []))
