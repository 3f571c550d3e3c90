"""The FCM emulator served for real by uvicorn on a free loopback port, with a fresh account."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from services.emulators.fcm.accounts import write_service_account
from services.emulators.fcm.app import create_app
from services.emulators.fcm.settings import FcmEmulatorSettings
from shared.clock import Clock
from shared.embedded.ports import free_port
from tests.support.emulator_client import EmulatorInspection


class _QuietServer(uvicorn.Server):
    """Uvicorn without signal handlers: the test owns the process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass(frozen=True)
class RunningEmulator(EmulatorInspection):
    """Where the emulator listens and the service account it trusts."""

    base_url: str
    account_path: Path
    account: dict[str, str]
    app: FastAPI

    @property
    def project_id(self) -> str:
        return self.account["project_id"]

    @property
    def send_url(self) -> str:
        return f"{self.base_url}/v1/projects/{self.project_id}/messages:send"

    @property
    def inspection_url(self) -> str:
        return self.base_url


@asynccontextmanager
async def fcm_emulator(
    folder: Path,
    *,
    project_id: str = "herald-test",
    clock: Clock | None = None,
    also_trust: Sequence[Path] = (),
) -> AsyncIterator[RunningEmulator]:
    """Serve an emulator that trusts one freshly generated account (plus ``also_trust``)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    account_path = folder / f"{project_id}-service-account.json"
    account = write_service_account(
        account_path, project_id=project_id, token_uri=f"{base_url}/token"
    )
    settings = FcmEmulatorSettings(
        http_port=port, fcm_emulator_service_accounts=[account_path, *also_trust]
    )
    app = create_app(settings, clock)
    server = _QuietServer(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off"
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("the FCM emulator stopped during start-up")
                await asyncio.sleep(0.01)
        yield RunningEmulator(base_url, account_path, account, app)
    finally:
        server.should_exit = True
        await task
