"""Apps created in a running stack, for security tests (and, with the emulators' FCM credentials,
for sends that must reach an app of their own), and the ``herald`` command run against a stack.

Apps are made in-process with the registry's AppAdmin, as ``make run`` makes its demo app, so a
test needs no operator key for them; ``herald`` goes through the admin API like a person's."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from pydantic import SecretStr

from services.devstack.stack import LocalStack
from services.registry.apps.admin import AppAdmin
from services.registry.apps.admin_client import AdminClientSettings, admin_http
from services.registry.apps.cli import parser, run
from services.registry.apps.store import MIGRATIONS, SCHEMA
from shared.clock import SystemClock
from shared.db import create_pool, migrate
from shared.kafka import create_bus
from shared.platforms.fcm.credentials import service_account_credential
from shared.runtime import prepare_topics
from shared.secrets import SecretBox, SecretsSettings
from shared.settings import DatabaseSettings, KafkaSettings
from shared.tenancy.auth import issue_user_token
from tests.support.factories import unique


@dataclass(frozen=True)
class Tenant:
    """An app with a full server key, a revoked key and a signing key."""

    app_id: str
    key: str
    revoked_key: str
    signing_key: str

    def user_token(self, user_id: str, *, expired: bool = False) -> str:
        now = datetime.now(UTC) - (timedelta(hours=2) if expired else timedelta(0))
        return issue_user_token(
            self.app_id, user_id, self.signing_key, now=now, lifetime=timedelta(minutes=10)
        )


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def herald(stack: LocalStack, operator_key: str, *argv: str) -> str:
    """What the ``herald`` command prints, run against the stack's registry with its operator
    key (as ``make run`` prints them); AdminClientError when the registry refuses."""
    settings = AdminClientSettings(
        registry_url=stack.services["registry"].url, admin_key=SecretStr(operator_key)
    )
    with admin_http(settings) as http:
        return run(parser().parse_args(list(argv)), http)


class AdminSettings(KafkaSettings, DatabaseSettings, SecretsSettings):
    """The registry's database, the broker and the secrets keys, as AppAdmin needs them."""


@asynccontextmanager
async def app_admin(stack: LocalStack) -> AsyncIterator[AppAdmin]:
    """The registry's AppAdmin on the stack's database and broker, in this process."""
    assert stack.postgres is not None
    settings = AdminSettings(
        **stack.kafka_settings().model_dump(),
        database_dsn=SecretStr(stack.postgres.dsn),
        secrets_keys=[SecretStr(stack.secrets_key)],
    )
    async with app_admin_on(settings) as admin:
        yield admin


@asynccontextmanager
async def app_admin_on(settings: AdminSettings) -> AsyncIterator[AppAdmin]:
    """The registry's AppAdmin on a database and broker, in this process (migrated, and the
    catalog's topics made, first: on Apache Kafka nothing creates apps.changed on first use)."""
    await prepare_topics(settings)
    pool = await create_pool(settings, SCHEMA)
    bus = create_bus(settings, client_id="test-tenants")
    try:
        await migrate(pool, SCHEMA, MIGRATIONS)
        await bus.broker.start()
        yield AppAdmin(pool, bus, SecretBox(settings), SystemClock())
    finally:
        await bus.broker.stop()
        await pool.close()


async def create_app(stack: LocalStack) -> Tenant:
    """A new app with its keys, once every service already accepts the key."""
    app_id = unique("tenant").lower()
    async with app_admin(stack) as admin:
        await admin.create_app(app_id)
        _, key = await admin.create_key(app_id, ["admin"])
        revoked, revoked_key = await admin.create_key(app_id, ["admin"])
        _, signing = await admin.create_signing_key(app_id)
        await admin.revoke_key(app_id, revoked.key_id)
    tenant = Tenant(app_id, key, revoked_key, signing)
    await _accepted_everywhere(stack, key)
    # The app's last change (the signing key, then the revocation) is known where user tokens are
    # taken only once a user token passes and the revoked key no longer does.
    await _accepted_everywhere(stack, tenant.user_token("probe"), services=USER_TOKEN_SERVICES)
    await _refused_everywhere(stack, tenant.revoked_key, services=USER_TOKEN_SERVICES)
    return tenant


async def give_fcm_credentials(stack: LocalStack, app_id: str) -> None:
    """Store the FCM emulator's service account as the app's own, as ``make run`` does for its
    demo app (the registry takes Google's token endpoint only, unless HERALD_FCM_TOKEN_URI says)."""
    account = (stack.run_dir / "secrets" / "fcm-service-account.json").read_bytes()
    token_uri = json.loads(account)["token_uri"]
    async with app_admin(stack) as admin:
        await admin.set_credential(
            app_id, service_account_credential(account, token_uris=[token_uri])
        )


PROBES = {
    "ingest": "/v1/notifications/00000000-0000-0000-0000-000000000000/cancel",
    "registry": "/v1/users/probe/devices",
    "badge-count": "/v1/users/probe/badge",
    "tracker": "/v1/users/probe/notifications",
}
USER_TOKEN_SERVICES = ("registry", "badge-count", "tracker")


async def _accepted_everywhere(
    stack: LocalStack, credential: str, services: tuple[str, ...] = tuple(PROBES)
) -> None:
    await _until(stack, credential, services, lambda status: status != 401)


async def _refused_everywhere(
    stack: LocalStack, credential: str, services: tuple[str, ...]
) -> None:
    await _until(stack, credential, services, lambda status: status == 401)


async def _until(
    stack: LocalStack, credential: str, services: tuple[str, ...], done: Callable[[int], bool]
) -> None:
    """Probe each service with ``credential`` until its answer's status is ``done``."""
    async with httpx.AsyncClient(timeout=5) as http, asyncio.timeout(10):
        for service in services:
            url = stack.services[service].url + PROBES[service]
            method = "POST" if service == "ingest" else "GET"
            while True:
                response = await http.request(method, url, headers=bearer(credential))
                if done(response.status_code):
                    break
                await asyncio.sleep(0.02)
