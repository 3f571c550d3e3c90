"""Apps created in a running stack the way an operator would, for security tests (and, with the
emulators' FCM credentials, for sends that must reach an app of their own)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from pydantic import SecretStr

from services.devstack.stack import LocalStack
from services.registry.app import SCHEMA
from services.registry.apps.admin import AppAdmin
from services.registry.apps.cli import CliSettings, parser, run
from shared.clock import SystemClock
from shared.db import create_pool
from shared.kafka import create_bus
from shared.platforms.fcm.credentials import service_account_credential
from shared.secrets import SecretBox
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


async def create_app(stack: LocalStack) -> Tenant:
    """A new app with its keys, once every service already accepts the key."""
    assert stack.postgres is not None
    assert stack.broker is not None
    settings = CliSettings(
        **stack.kafka_settings().model_dump(),
        database_dsn=SecretStr(stack.postgres.dsn),
        secrets_keys=[SecretStr(stack.secrets_key)],
    )

    async def herald(*argv: str) -> list[str]:
        return (await run(parser().parse_args(list(argv)), settings)).splitlines()

    app_id = unique("tenant").lower()
    await herald("apps", "create", app_id)
    key = (await herald("keys", "create", app_id, "--scopes", "admin"))[-1]
    revoked = await herald("keys", "create", app_id, "--scopes", "admin")
    signing = (await herald("signing-keys", "create", app_id))[-1]
    await herald("keys", "revoke", app_id, revoked[0].split()[1])
    tenant = Tenant(app_id, key, revoked[-1], signing)
    await _accepted_everywhere(stack, key)
    # The app's last change (the signing key, then the revocation) is known where user tokens are
    # taken only once a user token passes and the revoked key no longer does.
    await _accepted_everywhere(stack, tenant.user_token("probe"), services=USER_TOKEN_SERVICES)
    await _refused_everywhere(stack, tenant.revoked_key, services=USER_TOKEN_SERVICES)
    return tenant


async def give_fcm_credentials(stack: LocalStack, app_id: str) -> None:
    """Store the FCM emulator's service account as the app's own, as ``make run`` does for its
    demo app (the ``herald`` command accepts Google's token endpoint only)."""
    assert stack.postgres is not None
    settings = CliSettings(
        **stack.kafka_settings().model_dump(),
        database_dsn=SecretStr(stack.postgres.dsn),
        secrets_keys=[SecretStr(stack.secrets_key)],
    )
    account = (stack.run_dir / "secrets" / "fcm-service-account.json").read_bytes()
    token_uri = json.loads(account)["token_uri"]
    pool = await create_pool(settings, SCHEMA)
    bus = create_bus(settings, client_id="test-tenants")
    try:
        await bus.broker.start()
        admin = AppAdmin(pool, bus, SecretBox(settings), SystemClock())
        await admin.set_credential(
            app_id, service_account_credential(account, token_uris=[token_uri])
        )
    finally:
        await bus.broker.stop()
        await pool.close()


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
