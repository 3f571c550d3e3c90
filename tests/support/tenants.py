"""Apps created in a running stack the way an operator would, for security tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from pydantic import SecretStr

from services.devstack.stack import LocalStack
from services.registry.apps.cli import CliSettings, parser, run
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
    await _accepted_everywhere(stack, key)
    return Tenant(app_id, key, revoked[-1], signing)


async def _accepted_everywhere(stack: LocalStack, key: str) -> None:
    probes = {
        "ingest": "/v1/notifications/00000000-0000-0000-0000-000000000000/cancel",
        "registry": "/v1/users/probe/devices",
        "badge-count": "/v1/users/probe/badge",
    }
    async with httpx.AsyncClient(timeout=5) as http, asyncio.timeout(10):
        for service, path in probes.items():
            url = stack.services[service].url + path
            while True:
                method = "POST" if service == "ingest" else "GET"
                response = await http.request(method, url, headers=bearer(key))
                if response.status_code != 401:
                    break
                await asyncio.sleep(0.02)
