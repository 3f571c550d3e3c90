"""Apps managed with the registry's AppAdmin (behind the admin API and the `herald` CLI): scoped
keys, revocation everywhere within moments, sealed credentials, and per-credential rate limits.
Real broker and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka.structs import ConsumerRecord
from pydantic import SecretStr

from contracts import topics
from contracts.apps import ApiKeyEntry, AppChanged
from contracts.codec import decode_as
from services.emulators.fcm.accounts import write_service_account
from services.ingest.app import build as build_ingest
from services.ingest.settings import IngestSettings
from services.registry.app import build as build_registry
from services.registry.apps.admin import AppAdmin
from services.registry.apps.domain import AdminConflict, AdminError, AdminNotFound
from services.registry.settings import RegistrySettings
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.ports import free_port
from shared.embedded.postgres import EmbeddedPostgres
from shared.platforms.base import CredentialsError
from shared.platforms.fcm.credentials import GOOGLE_TOKEN_URI, service_account_credential
from shared.secrets import SecretBox, SecretsSettings, new_secrets_key
from shared.tenancy.announcements import AppsSignature
from shared.tenancy.auth import key_digest, new_api_key
from tests.support.clock import FrozenClock
from tests.support.factories import unique
from tests.support.kafka import TopicIO, kafka_settings_for_test
from tests.support.scheduler import fresh_database
from tests.support.services import running
from tests.support.tenants import AdminSettings, app_admin_on

pytestmark = pytest.mark.integration


class Deployment:
    """The registry's AppAdmin, in this process, and an ingest's settings on the same broker."""

    def __init__(self, settings: AdminSettings, admin: AppAdmin, ingest: IngestSettings) -> None:
        self.settings = settings
        self.admin = admin
        self.ingest = ingest


@pytest.fixture
async def deployment(
    broker: EmbeddedBroker, postgres: EmbeddedPostgres
) -> AsyncIterator[Deployment]:
    kafka = kafka_settings_for_test(broker.bootstrap)
    secrets = [SecretStr(new_secrets_key())]
    # A database of its own: a registry started later on the shared one would have to sign
    # these apps at start-up.
    dsn = SecretStr(await fresh_database(postgres.dsn))
    settings = AdminSettings(**kafka.model_dump(), database_dsn=dsn, secrets_keys=secrets)
    ingest = IngestSettings(
        **kafka.model_dump(), database_dsn=dsn, secrets_keys=secrets, http_port=free_port()
    )
    async with app_admin_on(settings) as admin:
        yield Deployment(settings, admin, ingest)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def body() -> dict[str, object]:
    return {
        "idempotency_key": unique("key"),
        "audience": {"user_ids": ["u1"]},
        "content": {"title": "Hi"},
    }


async def test_scoped_keys_work_for_their_scope_and_revocation_reaches_services(
    deployment: Deployment,
) -> None:
    app = unique("shop").lower()
    await deployment.admin.create_app(app, "Shop")
    sender, send_key = await deployment.admin.create_key(app, ["send"])
    _, reader_key = await deployment.admin.create_key(app, ["badges"])
    base = f"http://127.0.0.1:{deployment.ingest.http_port}"

    async with (
        running(await build_ingest(deployment.ingest, FrozenClock())),
        httpx.AsyncClient(base_url=base) as http,
    ):
        allowed = await http.post(
            "/v1/notifications", json=body(), headers={"Authorization": f"Bearer {send_key}"}
        )
        wrong_scope = await http.post(
            "/v1/notifications", json=body(), headers={"Authorization": f"Bearer {reader_key}"}
        )
        await deployment.admin.revoke_key(app, sender.key_id)
        revoked_at = time.monotonic()
        async with asyncio.timeout(5):
            while True:
                after = await http.post(
                    "/v1/notifications",
                    json=body(),
                    headers={"Authorization": f"Bearer {send_key}"},
                )
                if after.status_code == 401:
                    break
                await asyncio.sleep(0.01)
        propagation = time.monotonic() - revoked_at
        listing = await deployment.admin.keys(app)

    assert allowed.status_code == 202, allowed.text
    assert wrong_scope.status_code == 403
    assert wrong_scope.json()["error"]["code"] == "insufficient_scope"
    assert propagation < 5
    assert [key.revoked_at is not None for key in listing] == [True, False]


async def test_credentials_are_sealed_at_rest_and_bad_ones_are_refused(
    deployment: Deployment, tmp_path: Path
) -> None:
    app = unique("app").lower()
    await deployment.admin.create_app(app)
    account = tmp_path / "account.json"
    written = write_service_account(account, project_id="proj-1", token_uri=GOOGLE_TOKEN_URI)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"type": "service_account", "project_id": "p"}))

    await deployment.admin.set_credential(app, service_account_credential(account.read_bytes()))
    with pytest.raises(CredentialsError, match="client_email is missing") as refused:
        service_account_credential(broken.read_bytes())

    conn = await asyncpg.connect(deployment.settings.database_dsn.get_secret_value())
    try:
        row = await conn.fetchrow(
            "SELECT settings, sealed FROM registry.provider_credentials WHERE app_id = $1", app
        )
    finally:
        await conn.close()
    assert row is not None
    assert json.loads(row["settings"])["project_id"] == "proj-1"
    assert b"PRIVATE KEY" not in bytes(row["sealed"])
    assert written["private_key_id"].encode() not in bytes(row["sealed"])
    assert written["private_key"][40:80] not in str(refused.value)


async def test_one_apps_flood_is_turned_away_while_another_app_is_served(
    deployment: Deployment,
) -> None:
    flooder, calm = new_api_key(), new_api_key()
    settings = deployment.ingest.model_copy(
        update={
            "api_keys": {"flood": [key_digest(flooder)], "calm": [key_digest(calm)]},
            "rate_limit_key_per_second": 5.0,
            "rate_limit_key_burst": 5,
        }
    )
    base = f"http://127.0.0.1:{settings.http_port}"

    async with (
        running(await build_ingest(settings, FrozenClock())),
        httpx.AsyncClient(base_url=base, timeout=30) as http,
    ):

        async def send(key: str) -> httpx.Response:
            return await http.post(
                "/v1/notifications", json=body(), headers={"Authorization": f"Bearer {key}"}
            )

        flood = await asyncio.gather(*(send(flooder) for _ in range(30)))
        served = [await send(calm) for _ in range(5)]

    refused = [r for r in flood if r.status_code == 429]
    assert len(refused) >= 20
    assert all(int(r.headers["Retry-After"]) >= 1 for r in refused)
    assert {r.json()["error"]["code"] for r in refused} == {"rate_limited"}
    assert [r.status_code for r in served] == [202] * 5


async def test_an_unknown_scope_or_app_is_refused(deployment: Deployment) -> None:
    app = unique("app").lower()
    await deployment.admin.create_app(app)

    with pytest.raises(AdminError, match="scopes: choose from"):
        await deployment.admin.create_key(app, ["send", "everything"])
    with pytest.raises(AdminNotFound, match="no app"):
        await deployment.admin.create_key("nosuchapp", ["send"])
    with pytest.raises(AdminConflict, match="exists already"):
        await deployment.admin.create_app(app)


def forged_state(app_id: str, key: str, revision: int = 1_000_000) -> AppChanged:
    """What someone able to write to apps.changed would like every service to believe."""
    return AppChanged(
        event_id=uuid.uuid4(),
        app_id=app_id,
        occurred_at=datetime.now(UTC),
        revision=revision,
        api_keys=[ApiKeyEntry(key_id=uuid.uuid4(), digest=key_digest(key), scopes=["admin"])],
    )


async def genuine_records(io: TopicIO, app_id: str, count: int) -> list[ConsumerRecord]:
    """The first ``count`` records on apps.changed the registry published for ``app_id``."""
    found = await io.read(
        topics.APPS,
        decoded=False,
        until=lambda records: sum(r.key == app_id.encode() for r in records) >= count,
    )
    return [r for r in found if r.key == app_id.encode()]


async def test_a_forged_apps_changed_changes_nothing(
    deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    app = unique("shop").lower()
    await deployment.admin.create_app(app)
    _, kept = await deployment.admin.create_key(app, ["send"])
    revoked, revoked_key = await deployment.admin.create_key(app, ["send"])
    await deployment.admin.revoke_key(app, revoked.key_id)
    io = TopicIO(deployment.settings)
    before_revocation = (await genuine_records(io, app, 4))[2]
    forged_key = new_api_key()
    stranger = AppsSignature(
        SecretBox(SecretsSettings(secrets_keys=[SecretStr(new_secrets_key())]))
    )
    caplog.set_level(logging.INFO, logger="shared.tenancy.feed")

    async def forge() -> None:
        await io.produce(topics.APPS, forged_state(app, forged_key))
        await TopicIO(deployment.settings, stranger.headers).produce(
            topics.APPS, forged_state(app, forged_key)
        )
        await io.produce_raw(
            topics.APPS,
            (before_revocation.key, before_revocation.value),
            headers=before_revocation.headers,
        )

    await forge()
    base = f"http://127.0.0.1:{deployment.ingest.http_port}"
    async with (
        running(await build_ingest(deployment.ingest, FrozenClock())),
        httpx.AsyncClient(base_url=base) as http,
    ):

        async def send(key: str) -> int:
            answer = await http.post("/v1/notifications", json=body(), headers=bearer(key))
            return answer.status_code

        after_start = [await send(forged_key), await send(revoked_key), await send(kept)]
        await forge()
        _, sentinel = await deployment.admin.create_key(app, ["send"])
        async with asyncio.timeout(5):
            while True:
                if await send(sentinel) == 202:
                    break
                await asyncio.sleep(0.02)
        while_running = [await send(forged_key), await send(revoked_key), await send(kept)]

    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert after_start == [401, 401, 202]
    assert while_running == [401, 401, 202]
    assert sum("not announced by the registry: herald-signature" in r for r in refusals) == 2
    assert sum("which is not one of HERALD_SECRETS_KEYS" in r for r in refusals) == 2
    assert sum("revision 3 is older than the revision 4 held" in r for r in refusals) == 2
    assert forged_key not in caplog.text


async def test_the_registry_answers_a_refused_record_with_the_apps_current_state(
    deployment: Deployment, broker: EmbeddedBroker
) -> None:
    app = unique("shop").lower()
    await deployment.admin.create_app(app)
    await deployment.admin.create_key(app, ["send"])
    io = TopicIO(deployment.settings)
    await genuine_records(io, app, 2)
    registry = RegistrySettings(**deployment.settings.model_dump(), http_port=free_port())
    signature = AppsSignature(SecretBox(deployment.settings))

    async with running(await build_registry(registry, FrozenClock())):
        await io.produce(topics.APPS, forged_state(app, new_api_key()))
        records = await io.read(
            topics.APPS,
            decoded=False,
            until=lambda found: [r.key for r in found].count(app.encode()) >= 5,
        )

    mine = [r for r in records if r.key == app.encode()]
    newest = decode_as(topics.APPS, mine[-1].value, AppChanged)
    assert signature.refusal(mine[3].value, mine[3].headers) is not None
    assert signature.refusal(mine[-1].value, mine[-1].headers) is None
    assert newest.revision == 2
    assert [k.scopes for k in newest.api_keys] == [["send"]]
