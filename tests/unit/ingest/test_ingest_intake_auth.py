"""A Kafka record counts as an app's only when one of that app's live intake keys signed its exact
bytes; every other case is refused with a reason a sender can act on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from contracts.apps import AppChanged, IntakeKeyEntry, Sealed
from services.ingest.intake_auth import IntakeAuth
from shared.secrets import SecretBox, SecretsSettings, new_secrets_key
from shared.signatures import SIGNATURE_HEADER, sign
from shared.tenancy.directory import AppDirectory, intake_key_purpose

pytestmark = pytest.mark.unit

BOX = SecretBox(SecretsSettings(secrets_keys=[SecretStr(new_secrets_key())]))
VALUE = b'{"type": "notification.submitted"}'
SHOP_KEY, CAFE_KEY, OLD_KEY = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def entry(app_id: str, key_id: uuid.UUID, *, revoked: bool = False) -> IntakeKeyEntry:
    sealed = BOX.seal(f"secret-{key_id}".encode(), intake_key_purpose(app_id, key_id))
    return IntakeKeyEntry(key_id=key_id, secret=Sealed(ciphertext=sealed), revoked=revoked)


def app(app_id: str, *keys: IntakeKeyEntry) -> AppChanged:
    return AppChanged(
        event_id=uuid.uuid4(),
        app_id=app_id,
        occurred_at=datetime.now(UTC),
        revision=1,
        intake_keys=list(keys),
    )


def signed_by(key_id: uuid.UUID, value: bytes = VALUE) -> list[tuple[str, bytes | None]]:
    return [(SIGNATURE_HEADER, sign(str(key_id), f"secret-{key_id}".encode(), value).encode())]


@pytest.fixture
def auth() -> IntakeAuth:
    directory = AppDirectory(BOX)
    directory.apply(app("shop", entry("shop", SHOP_KEY), entry("shop", OLD_KEY, revoked=True)))
    directory.apply(app("cafe", entry("cafe", CAFE_KEY)))
    return IntakeAuth(directory)


def test_a_record_signed_by_its_apps_key_is_that_apps(auth: IntakeAuth) -> None:
    assert auth.refusal("shop", VALUE, signed_by(SHOP_KEY)) is None


@pytest.mark.parametrize(
    ("app_id", "headers", "reason"),
    [
        ("nowhere", signed_by(SHOP_KEY), "app_id: unknown app 'nowhere'"),
        ("shop", [], "the record is not signed; sign the record's value with an intake key"),
        ("shop", [(SIGNATURE_HEADER, b"hmac please")], "expected v1=<key id>"),
        ("cafe", signed_by(SHOP_KEY), f"key {SHOP_KEY} is not an intake key of app 'cafe'"),
        ("shop", signed_by(OLD_KEY), f"key {OLD_KEY} is not an intake key of app 'shop'"),
        ("shop", signed_by(SHOP_KEY, VALUE + b" "), "does not match the record's value"),
    ],
    ids=["unknown app", "unsigned", "malformed", "another app", "revoked", "other bytes"],
)
def test_anything_else_is_refused_with_the_reason(
    auth: IntakeAuth, app_id: str, headers: list[tuple[str, bytes | None]], reason: str
) -> None:
    refusal = auth.refusal(app_id, VALUE, headers)

    assert refusal is not None
    assert reason in refusal
