"""The app directory: newest state wins, revoked and disabled mean no, secrets open in memory."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from contracts.apps import AppChanged
from shared.secrets import SecretBox, SecretsSettings, new_secrets_key
from shared.tenancy.auth import ApiKeySettings, key_digest, new_api_key
from shared.tenancy.directory import (
    AppDirectory,
    credential_purpose,
    intake_key_purpose,
    signing_key_purpose,
)

pytestmark = pytest.mark.unit

BOX = SecretBox(SecretsSettings(secrets_keys=[SecretStr(new_secrets_key())]))
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SEND_KEY, ADMIN_KEY = new_api_key(), new_api_key()
SIGNING_ID, SIGNING_SECRET = uuid.uuid4(), "s" * 43


def state(revision: int, **changes: Any) -> AppChanged:
    values: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "app_id": "shop",
        "occurred_at": NOW,
        "revision": revision,
        "api_keys": [
            {"key_id": uuid.uuid4(), "digest": key_digest(SEND_KEY), "scopes": ["send"]},
            {"key_id": uuid.uuid4(), "digest": key_digest(ADMIN_KEY), "scopes": ["admin"]},
        ],
        "signing_keys": [
            {
                "key_id": SIGNING_ID,
                "secret": {
                    "ciphertext": BOX.seal(
                        SIGNING_SECRET.encode(), signing_key_purpose("shop", SIGNING_ID)
                    )
                },
            }
        ],
        "credentials": [
            {
                "platform": "webpush",
                "kind": "vapid",
                "settings": {"subject": "mailto:a@b.c"},
                "secret": {
                    "ciphertext": BOX.seal(b"vapid pem", credential_purpose("shop", "webpush"))
                },
            }
        ],
    }
    values.update(changes)
    return AppChanged.model_validate(values)


def test_keys_grant_their_scopes_and_secrets_are_opened() -> None:
    directory = AppDirectory(BOX)
    directory.apply(state(1))

    grant = directory.grant_for(SEND_KEY)
    credential = directory.credential("shop", "webpush")

    assert grant is not None
    assert (grant.app_id, grant.scopes) == ("shop", frozenset({"send"}))
    assert directory.signing_keys("shop") == [SIGNING_SECRET]
    assert credential is not None
    assert (credential.secret, credential.settings["subject"]) == (b"vapid pem", "mailto:a@b.c")
    assert directory.grant_for(new_api_key()) is None


def test_an_older_state_never_replaces_a_newer_one() -> None:
    directory = AppDirectory(BOX)
    directory.apply(state(5, api_keys=[]))

    assert not directory.apply(state(4))
    assert directory.grant_for(SEND_KEY) is None


def test_revoked_keys_and_disabled_apps_stop_working() -> None:
    directory = AppDirectory(BOX)
    directory.apply(state(1))
    revoked = state(2)
    revoked_keys = [
        k.model_copy(update={"revoked": True}) if k.scopes == ["send"] else k
        for k in revoked.api_keys
    ]
    directory.apply(revoked.model_copy(update={"api_keys": revoked_keys}))

    assert directory.grant_for(SEND_KEY) is None
    assert directory.grant_for(ADMIN_KEY) is not None
    directory.apply(state(3, disabled=True))
    assert directory.grant_for(ADMIN_KEY) is None
    assert directory.signing_keys("shop") == []
    assert directory.credential("shop", "webpush") is None
    assert not directory.known("shop")


def test_a_secret_sealed_with_an_unknown_key_is_skipped_not_fatal() -> None:
    stranger = SecretBox(SecretsSettings(secrets_keys=[SecretStr(new_secrets_key())]))
    directory = AppDirectory(stranger)

    assert directory.apply(state(1))
    assert directory.signing_keys("shop") == []
    assert directory.credential("shop", "webpush") is None
    assert directory.grant_for(SEND_KEY) is not None


def test_static_keys_have_every_scope_and_make_their_app_known() -> None:
    static = new_api_key()
    directory = AppDirectory(BOX, ApiKeySettings(api_keys={"boot": [key_digest(static)]}))

    grant = directory.grant_for(static)

    assert grant is not None
    assert "admin" in grant.scopes
    assert directory.known("boot")
    assert not directory.known("nobody")


def intake_entry(key_id: uuid.UUID, secret: bytes, *, revoked: bool = False) -> dict[str, Any]:
    sealed = BOX.seal(secret, intake_key_purpose("shop", key_id))
    return {"key_id": key_id, "secret": {"ciphertext": sealed}, "revoked": revoked}


def test_intake_keys_open_per_app_until_revoked_or_disabled() -> None:
    live, gone = uuid.uuid4(), uuid.uuid4()
    directory = AppDirectory(BOX)
    directory.apply(
        state(
            1, intake_keys=[intake_entry(live, b"live"), intake_entry(gone, b"old", revoked=True)]
        )
    )

    assert directory.intake_key("shop", str(live)) == b"live"
    assert directory.intake_key("shop", str(gone)) is None
    assert directory.intake_key("other", str(live)) is None
    assert directory.revision("shop") == 1
    assert directory.revision("other") is None
    directory.apply(state(2, disabled=True, intake_keys=[intake_entry(live, b"live")]))
    assert directory.intake_key("shop", str(live)) is None


def test_an_intake_key_sealed_for_another_app_does_not_open() -> None:
    key_id = uuid.uuid4()
    copied = BOX.seal(b"theirs", intake_key_purpose("other", key_id))
    directory = AppDirectory(BOX)

    directory.apply(state(1, intake_keys=[{"key_id": key_id, "secret": {"ciphertext": copied}}]))

    assert directory.intake_key("shop", str(key_id)) is None
