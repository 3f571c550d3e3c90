"""The registry's admin API (/v1/admin/apps, /v1/admin/dead-letters) and the herald command on it:
who may call each route, keys shown once, credentials checked and never shown back, dead letters
seen and replayed per app. Real broker and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr

from contracts import topics
from contracts.codec import encode
from contracts.deadletter import DeadLetter
from contracts.notifications import SourceHeader, SourceRecord
from services.emulators.fcm.accounts import generate_service_account
from services.registry.apps.cli import main
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.postgres import EmbeddedPostgres
from shared.kafka.parked import REPLAYED_FROM_HEADER
from shared.platforms.fcm.credentials import GOOGLE_TOKEN_URI
from shared.secrets import new_secrets_key
from shared.tenancy.auth import key_digest, new_api_key
from tests.support.factories import push_request, unique
from tests.support.registry import RunningRegistry, eventually, fcm_token, running_registry
from tests.support.scheduler import fresh_database

pytestmark = pytest.mark.integration


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def operator_key() -> str:
    return new_api_key()


@pytest.fixture(scope="module")
async def registry(
    broker: EmbeddedBroker, postgres: EmbeddedPostgres, operator_key: str
) -> AsyncIterator[RunningRegistry]:
    """A registry on a database of its own: the apps these tests make would otherwise be in
    the database of every registry started after them, which must then sign them at start-up."""
    async with running_registry(
        broker.bootstrap,
        await fresh_database(postgres.dsn),
        operator_keys=[key_digest(operator_key)],
        secrets_keys=[SecretStr(new_secrets_key())],
    ) as running:
        yield running


@pytest.fixture
async def operator(
    registry: RunningRegistry, operator_key: str
) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=registry.base_url, headers=bearer(operator_key)) as http:
        yield http


async def new_app(operator: httpx.AsyncClient) -> tuple[str, str]:
    """A new app and a new admin key of it."""
    app_id = unique("shop").lower()
    created = await operator.post("/v1/admin/apps", json={"app_id": app_id, "name": "Shop"})
    assert created.status_code == 201, created.text
    key = await operator.post(f"/v1/admin/apps/{app_id}/keys", json={"scopes": ["admin"]})
    return app_id, key.json()["key"]


@asynccontextmanager
async def holding(operator: httpx.AsyncClient, key: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client with ``key``, once the registry accepts it."""
    async with httpx.AsyncClient(base_url=str(operator.base_url), headers=bearer(key)) as client:
        await eventually(answers(lambda: client.get("/v1/admin/apps"), 200))
        yield client


async def test_an_operator_manages_every_app_and_an_app_key_only_its_own(
    registry: RunningRegistry, operator: httpx.AsyncClient
) -> None:
    app_id, app_key = await new_app(operator)
    other_id, other_key = await new_app(operator)
    sender = await operator.post(
        f"/v1/admin/apps/{app_id}/keys", json={"scopes": ["send"], "label": "backend"}
    )
    async with holding(operator, app_key) as app_admin, holding(operator, other_key) as other_admin:
        listed = await operator.get("/v1/admin/apps")
        own = await app_admin.get("/v1/admin/apps")
        keys = await app_admin.get(f"/v1/admin/apps/{app_id}/keys")
        foreign = [
            await other_admin.get(f"/v1/admin/apps/{app_id}/keys"),
            await other_admin.delete(f"/v1/admin/apps/{app_id}/keys/{sender.json()['key_id']}"),
            await other_admin.post(f"/v1/admin/apps/{app_id}/signing-keys"),
            await other_admin.get(f"/v1/admin/apps/{app_id}/credentials"),
            await other_admin.get(f"/v1/admin/apps/{app_id}/categories"),
        ]
        never_heard_of = await other_admin.get("/v1/admin/apps/nosuchapp/keys")
        operators_only = [
            await app_admin.post("/v1/admin/apps", json={"app_id": unique("x").lower()}),
            await app_admin.post(f"/v1/admin/apps/{app_id}/disable"),
        ]
        unknown = await operator.get("/v1/admin/apps/nosuchapp/keys")
        anonymous = await registry.anonymous.get("/v1/admin/apps")
        user = registry.as_user("alice")
        async with user:
            by_user = await user.get("/v1/admin/apps")
        send_key = httpx.AsyncClient(
            base_url=registry.base_url, headers=bearer(sender.json()["key"])
        )
        async with send_key:
            await eventually(answers(lambda: send_key.get(f"/v1/admin/apps/{app_id}/keys"), 403))
        revoked = await app_admin.delete(f"/v1/admin/apps/{app_id}/keys/{sender.json()['key_id']}")
        after = (await operator.get(f"/v1/admin/apps/{app_id}/keys")).json()["keys"]
        again = await operator.post("/v1/admin/apps", json={"app_id": app_id})
        unstorable = await operator.post(
            f"/v1/admin/apps/{app_id}/keys", json={"scopes": ["send"], "label": "a\u0000b"}
        )

    assert sender.status_code == 201
    assert set(sender.json()) == {"key_id", "key", "scopes", "label", "created_at"}
    assert {app_id, other_id} <= {a["app_id"] for a in listed.json()["apps"]}
    assert [a["app_id"] for a in own.json()["apps"]] == [app_id]
    assert own.json()["apps"][0]["name"] == "Shop"
    assert sender.json()["key"] not in keys.text
    assert {k["label"] for k in keys.json()["keys"]} == {"", "backend"}
    assert [r.status_code for r in foreign] == [404] * 5
    assert [r.text.replace(app_id, "nosuchapp") for r in foreign] == [never_heard_of.text] * 5
    assert [r.status_code for r in operators_only] == [403, 403]
    assert unknown.status_code == 404
    assert anonymous.status_code == 401
    assert by_user.status_code == 403
    assert revoked.status_code == 204
    assert [k["revoked_at"] is not None for k in after if k["label"] == "backend"] == [True]
    assert again.status_code == 409
    assert (unstorable.status_code, unstorable.json()["error"]["field"]) == (422, "label")


def answers(
    request: Callable[[], Awaitable[httpx.Response]], status: int
) -> Callable[[], Awaitable[bool]]:
    """A check for ``eventually``: the request answers ``status`` (a key's change has spread)."""

    async def check() -> bool:
        return (await request()).status_code == status

    return check


async def test_secrets_are_shown_once_and_a_disabled_apps_key_stops_working(
    operator: httpx.AsyncClient,
) -> None:
    app_id, app_key = await new_app(operator)
    async with holding(operator, app_key) as app_admin:
        signing = await app_admin.post(f"/v1/admin/apps/{app_id}/signing-keys")
        intake = await app_admin.post(f"/v1/admin/apps/{app_id}/intake-keys")
        revoked = [
            await app_admin.delete(
                f"/v1/admin/apps/{app_id}/signing-keys/{signing.json()['key_id']}"
            ),
            await app_admin.delete(
                f"/v1/admin/apps/{app_id}/intake-keys/{intake.json()['key_id']}"
            ),
            await app_admin.delete(
                f"/v1/admin/apps/{app_id}/intake-keys/{signing.json()['key_id']}"
            ),
        ]
        category = await app_admin.put(
            f"/v1/admin/apps/{app_id}/categories/promotions", json={"default_enabled": False}
        )
        categories = await operator.get(f"/v1/admin/apps/{app_id}/categories")
        disabled = await operator.post(f"/v1/admin/apps/{app_id}/disable")
        await eventually(answers(lambda: app_admin.get("/v1/admin/apps"), 401))
        listed = (await operator.get("/v1/admin/apps")).json()["apps"]
        enabled = await operator.post(f"/v1/admin/apps/{app_id}/enable")
        await eventually(answers(lambda: app_admin.get("/v1/admin/apps"), 200))

    assert [signing.status_code, intake.status_code] == [201, 201]
    assert set(signing.json()) == {"key_id", "secret"}
    assert [r.status_code for r in revoked] == [204, 204, 404]
    assert category.status_code == 200
    assert [c["category_id"] for c in categories.json()["categories"]] == ["promotions"]
    assert [disabled.status_code, enabled.status_code] == [204, 204]
    assert [a["disabled"] for a in listed if a["app_id"] == app_id] == [True]


def vapid_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


async def test_credentials_are_checked_naming_the_field_and_never_shown_back(
    operator: httpx.AsyncClient,
) -> None:
    app_id, _ = await new_app(operator)
    base = f"/v1/admin/apps/{app_id}/credentials"
    pem = vapid_pem()
    account = generate_service_account(project_id="shop-1", token_uri=GOOGLE_TOKEN_URI)
    stored = [
        await operator.put(
            f"{base}/webpush", json={"subject": "mailto:ops@example.com", "private_key_pem": pem}
        ),
        await operator.put(f"{base}/fcm", json={"service_account": account}),
        await operator.put(
            f"{base}/apns",
            json={
                "kind": "token",
                "team_id": "TEAM123456",
                "key_id": "KEY1234567",
                "topic": "com.example.shop",
                "environment": "sandbox",
                "private_key_pem": pem,
            },
        ),
    ]
    refused = [
        await operator.put(
            f"{base}/webpush", json={"subject": "mailto:ops@example.com", "private_key_pem": "x"}
        ),
        await operator.put(
            f"{base}/apns",
            json={
                "kind": "token",
                "team_id": "team",
                "key_id": "KEY1234567",
                "topic": "com.example.shop",
                "private_key_pem": pem,
            },
        ),
        await operator.put(
            f"{base}/fcm",
            json={"service_account": {**account, "token_uri": "https://attacker.example/token"}},
        ),
        await operator.put(
            f"{base}/webpush", json={"subjet": "mailto:a@b.c", "private_key_pem": pem}
        ),
    ]
    listed = await operator.get(base)

    assert [r.status_code for r in stored] == [204, 204, 204]
    assert [r.status_code for r in refused] == [422] * 4
    assert [r.json()["error"]["field"] for r in refused] == [
        "private_key_pem",
        "team_id",
        "service_account",
        "subjet",
    ]
    summaries = {c["platform"]: c for c in listed.json()["credentials"]}
    assert summaries["apns"]["kind"] == "apns_token"
    assert summaries["apns"]["summary"]["team_id"] == "TEAM123456"
    assert summaries["fcm"]["summary"] == {
        "project_id": "shop-1",
        "client_email": account["client_email"],
    }
    assert summaries["webpush"]["summary"]["subject"] == "mailto:ops@example.com"
    assert len(summaries["webpush"]["summary"]["public_key"]) == 87
    assert "PRIVATE" not in listed.text
    assert account["private_key_id"] not in listed.text


async def test_the_herald_command_manages_an_app_through_the_admin_api(
    registry: RunningRegistry,
    operator_key: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    app_id = unique("cli").lower()
    vapid = tmp_path / "vapid.pem"
    vapid.write_text(vapid_pem())

    async def herald(*argv: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(main, list(argv))
        printed = capsys.readouterr()
        return code, printed.out, printed.err

    monkeypatch.delenv("HERALD_REGISTRY_URL", raising=False)
    unset = await herald("apps", "list")
    monkeypatch.setenv("HERALD_REGISTRY_URL", registry.base_url)
    monkeypatch.setenv("HERALD_ADMIN_KEY", new_api_key())
    refused = await herald("apps", "list")
    monkeypatch.setenv("HERALD_ADMIN_KEY", operator_key)
    created = await herald("apps", "create", app_id, "--name", "CLI shop")
    key = await herald("keys", "create", app_id, "--scopes", "send,admin", "--label", "ci")
    key_id = key[1].split()[1]
    signing = await herald("signing-keys", "create", app_id)
    stored = await herald(
        "credentials",
        "set",
        app_id,
        "webpush",
        "--vapid-key-file",
        str(vapid),
        "--subject",
        "mailto:ops@example.com",
    )
    category = await herald("categories", "create", app_id, "news", "--cap", "3", "--window", "60")
    revoked = await herald("keys", "revoke", app_id, key_id)
    listings = [
        await herald("apps", "list"),
        await herald("keys", "list", app_id),
        await herald("credentials", "list", app_id),
        await herald("categories", "list", app_id),
    ]
    bad = await herald("keys", "create", app_id, "--scopes", "everything")

    assert unset[0] == 1
    assert "HERALD_REGISTRY_URL is not set" in unset[2]
    assert refused[0] == 1
    assert "the registry refused HERALD_ADMIN_KEY" in refused[2]
    assert created == (0, f"app {app_id} created\n", "")
    assert key[1].startswith(f"key {key_id} (send, admin); shown once")
    assert key[1].splitlines()[-1].startswith("hrld_")
    assert signing[1].startswith("signing key ")
    assert stored == (0, f"webpush credentials of {app_id} stored (webpush)\n", "")
    assert category[0] == 0
    assert revoked == (0, f"key {key_id} revoked\n", "")
    assert all(code == 0 for code, _, _ in listings)
    apps, keys, credentials, categories = (out for _, out, _ in listings)
    assert f"{app_id} " in apps
    assert "CLI shop" in apps
    assert f"{key_id}  send,admin" in keys
    assert "revoked" in keys
    assert key[1].splitlines()[-1] not in keys
    assert "subject=mailto:ops@example.com" in credentials
    assert "public_key=" in credentials
    assert "PRIVATE" not in credentials
    assert "at most 3 per 60s" in categories
    assert bad[0] == 1
    assert "registry answered 422: scopes" in bad[2]


async def test_herald_shows_and_changes_a_devices_topics_and_a_users_tags_with_the_apps_key(
    registry: RunningRegistry, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    user = unique("alice")
    registered = await registry.api.post(
        "/v1/devices", json={"user_id": user, "platform": "fcm", "token": fcm_token()}
    )
    device = registered.json()["device_id"]
    monkeypatch.setenv("HERALD_REGISTRY_URL", registry.base_url)
    monkeypatch.setenv("HERALD_KEY", registry.api.headers["Authorization"].removeprefix("Bearer "))

    async def herald(*argv: str) -> str:
        assert await asyncio.to_thread(main, list(argv)) == 0, capsys.readouterr().err
        return capsys.readouterr().out

    subscribed = await herald("device-topics", device, "--subscribe", "news,sports")
    unsubscribed = await herald("device-topics", device, "--unsubscribe", "news")
    listed = await herald("device-topics", device)
    tagged = await herald("tags", "--user", user, "--set", "tier=gold", "--set", "city=paris")
    untagged = await herald("tags", "--user", user, "--remove", "city")
    device_tags = await herald("tags", "--device", device)

    assert subscribed.split() == ["news", "sports"]
    assert unsubscribed.split() == listed.split() == ["sports"]
    assert tagged.split() == ["city=paris", "tier=gold"]
    assert untagged.split() == ["tier=gold"]
    assert device_tags == f"device {device} has no tags\n"


def parked_push(registry: RunningRegistry, app_id: str, offset: int) -> tuple[DeadLetter, bytes]:
    """A dead letter of a push of ``app_id`` the FCM dispatcher refused, and the push's bytes."""
    value = encode(push_request(datetime.now(UTC), "fcm", app_id=app_id))
    source = SourceRecord(
        topic=registry.io.address(topics.PUSH["fcm"]),
        partition=0,
        offset=offset,
        key=b"device-key",
        value=value,
        headers=(SourceHeader(name="traceparent", value=b"00-trace"),),
    )
    letter = DeadLetter(
        event_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        reason="400 INVALID_ARGUMENT: refused",
        consumer_group="dispatcher-fcm",
        attempts=1,
        source=source,
    )
    return letter, value


async def test_dead_letters_are_an_operators_and_each_app_sees_and_replays_its_own(
    registry: RunningRegistry, operator: httpx.AsyncClient
) -> None:
    app_id, app_key = await new_app(operator)
    other_id, other_key = await new_app(operator)
    parking = topics.by_name("push.fcm.dlq")
    own, value = parked_push(registry, app_id, 11)
    foreign, _ = parked_push(registry, other_id, 12)
    await registry.io.produce(parking, own, foreign)
    await registry.io.produce_raw(parking, (None, b"not a dead letter"))

    def on_fcm_dlq(answer: httpx.Response) -> dict[str, Any]:
        assert answer.status_code == 200, answer.text
        [found] = [t for t in answer.json()["topics"] if t["topic"] == "push.fcm.dlq"]
        return dict(found)

    async with holding(operator, app_key) as app_admin, holding(operator, other_key) as other_admin:
        everything = on_fcm_dlq(await operator.get("/v1/admin/dead-letters", params={"newest": 10}))
        mine = on_fcm_dlq(await app_admin.get("/v1/admin/dead-letters"))
        [entry] = mine["newest"]
        not_theirs = await other_admin.post(
            "/v1/admin/dead-letters/push.fcm.dlq/replay", json={"position": entry["position"]}
        )
        refused = [
            await app_admin.post("/v1/admin/dead-letters/push.fcm.dlq/replay", json=body)
            for body in ({}, {"all": True, "position": "0:1"}, {"position": "x"})
        ]
        no_topic = await app_admin.post(
            "/v1/admin/dead-letters/push.fcm/replay", json={"all": True}
        )
        replayed = await app_admin.post(
            "/v1/admin/dead-letters/push.fcm.dlq/replay", json={"position": entry["position"]}
        )
    anonymous = await registry.anonymous.get("/v1/admin/dead-letters")
    [again] = await registry.io.read(
        topics.PUSH["fcm"], until=lambda found: len(found) >= 1, decoded=False
    )

    assert everything["count"] == 3
    assert {e["app_id"] for e in everything["newest"]} == {app_id, other_id, None}
    assert mine["count"] == 1
    assert entry["app_id"] == app_id
    assert entry["reason"] == "400 INVALID_ARGUMENT: refused"
    assert entry["consumer_group"] == "dispatcher-fcm"
    assert entry["source_topic"] == registry.io.address(topics.PUSH["fcm"])
    assert entry["source_position"] == "0:11"
    assert entry["cannot_replay"] is None
    assert not_theirs.status_code == 404
    assert [r.status_code for r in refused] == [422, 422, 422]
    assert no_topic.status_code == 404
    assert anonymous.status_code == 401
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["replayed"] == 1
    assert [s["outcome"] for s in replayed.json()["steps"]] == ["replayed"]
    assert (again.key, again.value) == (b"device-key", value)
    assert dict(again.headers)["traceparent"] == b"00-trace"
    assert REPLAYED_FROM_HEADER in dict(again.headers)
