"""One app with a development build's iPhone (sandbox token) and an App Store build's (production
token): from registration through the registry's fan-out and the APNs dispatcher, each push reaches
the emulator standing for its environment's host, and only that one."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts import topics
from services.dispatcher.app import build
from services.dispatcher.settings import DispatcherSettings
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.ports import free_port
from shared.embedded.postgres import EmbeddedPostgres
from tests.support.apns import apns_emulator
from tests.support.factories import apns_token, unique
from tests.support.registry import counted, eventually, running_registry
from tests.support.services import running

pytestmark = pytest.mark.integration


async def test_each_device_is_pushed_on_its_own_environments_host(
    broker: EmbeddedBroker, postgres: EmbeddedPostgres, tmp_path: Path
) -> None:
    user, development, store_build = unique("user"), apns_token(), apns_token()
    async with (
        running_registry(broker.bootstrap, postgres.dsn) as registry,
        apns_emulator(tmp_path / "production", clock=registry.clock) as production,
        apns_emulator(tmp_path / "sandbox", clock=registry.clock, like=production) as sandbox,
    ):
        settings = DispatcherSettings(
            **registry.io.settings.model_dump(),
            **production.dispatcher_settings(),
            apns_environment="production",
            apns_sandbox_host=sandbox.host,
            apns_sandbox_port=sandbox.tls_port,
            http_port=free_port(),
        )
        async with running(await build(settings, registry.clock)):
            for token, environment in ((development, "sandbox"), (store_build, "production")):
                reply = await registry.api.post(
                    "/v1/devices",
                    json={
                        "user_id": user,
                        "platform": "apns",
                        "token": token,
                        "apns_environment": environment,
                    },
                )
                assert reply.status_code == 201, reply.text
            await registry.io.produce(topics.COUNTED, counted(registry.clock.now(), user))

            async def both_arrived() -> bool:
                return bool(
                    await sandbox.recorded(development) and await production.recorded(store_build)
                )

            await eventually(both_arrived, timeout=30)
        in_sandbox = {m["token"] for m in await sandbox.recorded()}
        in_production = {m["token"] for m in await production.recorded()}

    assert in_sandbox == {development}
    assert in_production == {store_build}
