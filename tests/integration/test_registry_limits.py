"""The registry refuses hostile input at the door, naming the field and the limit, and forgets its
badge-sync records after their retention: against the real PostgreSQL and broker.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import SecretStr

from services.registry.app import MIGRATIONS, SCHEMA
from services.registry.reads.domain import PendingSync, WakeBudget
from services.registry.reads.flusher import sync_state_pruner
from services.registry.reads.store import SyncStore
from shared.db import create_pool, migrate, transaction
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.postgres import EmbeddedPostgres
from shared.settings import DatabaseSettings
from tests.support.clock import FrozenClock
from tests.support.factories import unique
from tests.support.registry import APP, RunningRegistry, fcm_token, running_registry

pytestmark = pytest.mark.integration

CAP = 3


@pytest.fixture(scope="module")
async def registry(
    broker: EmbeddedBroker, postgres: EmbeddedPostgres
) -> AsyncIterator[RunningRegistry]:
    async with running_registry(
        broker.bootstrap, postgres.dsn, max_devices_per_user=CAP
    ) as running:
        yield running


async def register(registry: RunningRegistry, user_id: str, token: str, **fields: Any) -> Any:
    platform = fields.pop("platform", "fcm")
    return await registry.api.post(
        "/v1/devices", json={"user_id": user_id, "platform": platform, "token": token, **fields}
    )


async def test_a_user_has_at_most_the_cap_of_active_devices(registry: RunningRegistry) -> None:
    user = unique("user")
    tokens = [fcm_token() for _ in range(CAP)]
    first = [await register(registry, user, token) for token in tokens]

    refused = await register(registry, user, fcm_token())
    again = await register(registry, user, tokens[0])
    await registry.api.delete(f"/v1/devices/{first[1].json()['device_id']}")
    after_logout = await register(registry, user, fcm_token())

    assert [reply.status_code for reply in first] == [201] * CAP
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("too_many_devices", "user_id")
    assert f"has {CAP} active devices" in error["message"]
    assert again.status_code == 200
    assert after_logout.status_code == 201


@pytest.mark.parametrize(
    ("user_id", "named"),
    [
        ("alice\u202egnp.exe", "RIGHT-TO-LEFT OVERRIDE"),
        ("ali\u200bce", "ZERO WIDTH SPACE"),
        ("alice\u2066", "LEFT-TO-RIGHT ISOLATE"),
    ],
)
async def test_user_ids_with_format_or_bidi_characters_are_refused(
    registry: RunningRegistry, user_id: str, named: str
) -> None:
    registration = await register(registry, user_id, fcm_token())
    reads = await registry.api.post(
        f"/v1/users/{user_id}/reads", json={"notification_ids": [str(uuid.uuid4())]}
    )

    for reply in (registration, reads):
        assert reply.status_code == 422, reply.text
        assert named in reply.json()["error"]["message"]
        assert "user_id" in reply.json()["error"]["field"]


def subscription(endpoint: str, *, p256dh: str | None = None) -> str:
    point = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = point.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    key = p256dh or base64.urlsafe_b64encode(raw).decode().rstrip("=")
    auth = base64.urlsafe_b64encode(b"0123456789abcdef").decode().rstrip("=")
    return json.dumps({"endpoint": endpoint, "keys": {"p256dh": key, "auth": auth}})


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (subscription("https://fcm.googleapis.com:8443/fcm/send/x"), "not 8443"),
        (subscription("https://me:pw@fcm.googleapis.com/fcm/send/x"), "user info"),
        (subscription("https://169.254.169.254/latest/meta-data"), "is an IP address"),
        (subscription("https://[::1]/x"), "is an IP address"),
        (
            subscription("https://fcm.googleapis.com/fcm/send/x", p256dh="BA" + "A" * 85),
            "not a point on the P-256 curve",
        ),
        (
            json.dumps(
                {
                    "endpoint": "https://fcm.googleapis.com/x",
                    "keys": {"p256dh": "BA" + "A" * 85, "auth": "AAAA"},
                }
            ),
            "16-byte secret",
        ),
    ],
)
async def test_web_push_subscriptions_off_the_rules_are_refused(
    registry: RunningRegistry, token: str, message: str
) -> None:
    reply = await register(registry, unique("user"), token, platform="webpush")

    assert reply.status_code == 422, reply.text
    assert reply.json()["error"]["field"] == "token"
    assert message in reply.json()["error"]["message"]


@pytest.fixture
async def pool(postgres: EmbeddedPostgres) -> AsyncIterator[asyncpg.Pool]:
    created = await create_pool(DatabaseSettings(database_dsn=SecretStr(postgres.dsn)), SCHEMA)
    await migrate(created, SCHEMA, MIGRATIONS)
    yield created
    await created.close()


async def test_sync_records_are_forgotten_after_their_retention(pool: asyncpg.Pool) -> None:
    clock = FrozenClock()
    store = SyncStore()
    pruner = sync_state_pruner(pool, store, clock, timedelta(days=30))
    old_user, recent_user = unique("old"), unique("recent")
    old_device, recent_device = uuid.uuid4(), uuid.uuid4()

    def synced(user_id: str) -> PendingSync:
        now = clock.now()
        return PendingSync(APP, user_id, 1, 1, (), None, False, None, False, now, now)

    async with transaction(pool) as conn:
        await store.mark_sent(conn, [synced(old_user)], clock.now())
        await store.save_wake_budgets(conn, {old_device: WakeBudget(clock.now(), 1)})
    clock.advance(days=20)
    async with transaction(pool) as conn:
        await store.mark_sent(conn, [synced(recent_user)], clock.now())
        await store.save_wake_budgets(conn, {recent_device: WakeBudget(clock.now(), 1)})
    clock.advance(days=11)

    await pruner.prune_once()

    async with transaction(pool) as conn:
        assert await store.last_sent_seq(conn, APP, old_user) is None
        assert await store.last_sent_seq(conn, APP, recent_user) == 1
        budgets = await store.wake_budgets(conn, [old_device, recent_device])
    assert set(budgets) == {recent_device}
