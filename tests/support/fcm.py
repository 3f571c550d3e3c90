"""The FCM emulator served for real as ``make run`` serves it (the FCM API over TLS with HTTP/2,
the token endpoint and inspection over plain HTTP) on free loopback ports, with a fresh account."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.emulators.fcm.accounts import write_service_account
from services.emulators.fcm.app import create_app
from services.emulators.fcm.settings import FcmEmulatorSettings
from services.emulators.serving import LOOPBACK, Listen
from services.emulators.tls import LocalCa, create_ca
from shared.clock import Clock
from shared.embedded.ports import free_port
from tests.support.emulator_client import EmulatorInspection, serving

PROJECT = "herald-test"


@dataclass(frozen=True)
class RunningEmulator(EmulatorInspection):
    """Where the emulator listens, the CA to trust and the service account it trusts."""

    base_url: str
    tls_port: int
    ca: LocalCa
    account_path: Path
    account: dict[str, str]
    app: FastAPI

    @property
    def project_id(self) -> str:
        return self.account["project_id"]

    @property
    def inspection_url(self) -> str:
        return self.base_url

    def dispatcher_settings(self) -> dict[str, Any]:
        """DispatcherSettings fields that aim an FCM dispatcher at this emulator's TLS port."""
        return {
            "dispatcher_platform": "fcm",
            "fcm_service_account_file": self.account_path,
            "fcm_base_url": f"https://{LOOPBACK}:{self.tls_port}",
            "fcm_token_uri": self.account["token_uri"],
            "fcm_ca_bundle": self.ca.cert_path,
        }


@asynccontextmanager
async def fcm_emulator(
    folder: Path, *, clock: Clock | None = None
) -> AsyncIterator[RunningEmulator]:
    """Serve an emulator that trusts one freshly generated account of project ``PROJECT``."""
    ca = create_ca(folder / "ca")
    server = ca.issue_server(folder / "tls")
    tls_port, http_port = free_port(), free_port()
    account_path = folder / f"{PROJECT}-service-account.json"
    account = write_service_account(
        account_path, project_id=PROJECT, token_uri=f"http://{LOOPBACK}:{http_port}/token"
    )
    settings = FcmEmulatorSettings(
        http_port=http_port,
        fcm_emulator_service_accounts=[account_path],
        fcm_emulator_tls_port=tls_port,
        fcm_emulator_cert_file=server.cert,
        fcm_emulator_key_file=server.key,
    )
    app = create_app(settings, clock)
    async with serving(app, Listen(tls_port, http_port, server.cert, server.key)) as http_url:
        yield RunningEmulator(http_url, tls_port, ca, account_path, account, app)
