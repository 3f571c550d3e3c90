"""Notification ids: the same for a replay, different per app and per deployment, and nothing
another tenant can compute from an idempotency key."""

from __future__ import annotations

import uuid

import pytest
from pydantic import SecretStr

from contracts.base import HERALD_NAMESPACE
from services.ingest.identity import NotificationIds
from shared.secrets import SecretBox, SecretsSettings, SecretsUnavailable, new_secrets_key

pytestmark = pytest.mark.unit


def ids(*keys: str) -> NotificationIds:
    return NotificationIds(SecretBox(SecretsSettings(secrets_keys=[SecretStr(k) for k in keys])))


def test_ids_are_stable_per_app_and_key_and_differ_otherwise() -> None:
    deployment = ids(new_secrets_key())

    assert deployment.of("a", "k") == deployment.of("a", "k")
    assert deployment.of("a", "k") != deployment.of("b", "k")
    assert deployment.of("a", "k") != deployment.of("a", "k2")


def test_ids_depend_on_the_deployments_key_not_only_on_public_names() -> None:
    key = new_secrets_key()

    nid = ids(key).of("shop", "order-1")

    assert nid != ids(new_secrets_key()).of("shop", "order-1")
    assert nid == ids(key, new_secrets_key()).of("shop", "order-1")
    assert nid != uuid.uuid5(HERALD_NAMESPACE, "notification/shop/order-1")
    assert (nid.version, nid.variant) == (8, uuid.RFC_4122)


def test_ingest_cannot_derive_ids_without_a_secrets_key() -> None:
    with pytest.raises(SecretsUnavailable, match="HERALD_SECRETS_KEYS"):
        ids()
