"""A device token held by one user moves to another only with the server's word, the device's
proof, or after logout. Real broker and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.embedded.broker import EmbeddedBroker
from shared.embedded.postgres import EmbeddedPostgres
from tests.support.factories import unique
from tests.support.registry import RunningRegistry, fcm_token, running_registry

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def registry(
    broker: EmbeddedBroker, postgres: EmbeddedPostgres
) -> AsyncIterator[RunningRegistry]:
    async with running_registry(broker.bootstrap, postgres.dsn) as running:
        yield running


async def test_a_user_token_cannot_take_another_users_token_without_proof(
    registry: RunningRegistry,
) -> None:
    alice, bob, carol = unique("alice"), unique("bob"), unique("carol")
    token = fcm_token()

    def body(user: str, **extra: str) -> dict[str, str]:
        return {"user_id": user, "platform": "fcm", "token": token, **extra}

    async with registry.as_user(alice) as as_alice, registry.as_user(bob) as as_bob:
        first = await as_alice.post("/v1/devices", json=body(alice))
        secret = first.json()["device_secret"]
        device = first.json()["device_id"]
        grabbed = await as_bob.post("/v1/devices", json=body(bob))
        wrong_proof = await as_bob.post("/v1/devices", json=body(bob, device_secret="nope"))
        peek = await as_bob.get(f"/v1/devices/{device}")
        proven = await as_bob.post("/v1/devices", json=body(bob, device_secret=secret))
        by_server = await registry.api.post("/v1/devices", json=body(alice))
        logout = await as_alice.delete(f"/v1/devices/{device}")
    async with registry.as_user(carol) as as_carol:
        after_logout = await as_carol.post("/v1/devices", json=body(carol))
        someone_elses = await as_carol.post("/v1/devices", json=body(alice))

    assert first.status_code == 201
    assert secret
    assert grabbed.status_code == 409
    assert grabbed.json()["error"]["code"] == "token_taken"
    assert wrong_proof.status_code == 409
    assert peek.status_code == 404
    assert proven.status_code == 200
    assert proven.json()["user_id"] == bob
    assert proven.json()["device_secret"] not in (None, secret)
    assert by_server.status_code == 200
    assert by_server.json()["user_id"] == alice
    assert logout.status_code == 204
    assert after_logout.status_code == 200
    assert after_logout.json()["user_id"] == carol
    assert someone_elses.status_code == 404
