"""The APNs emulator served for real (TLS + HTTP/2 by hypercorn) on free loopback ports, with a
freshly generated CA, server certificate and signing key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.emulators.apns.app import create_app
from services.emulators.apns.keys import write_auth_key
from services.emulators.apns.settings import ApnsEmulatorSettings
from services.emulators.h2_server import DEFAULT_WINDOW
from services.emulators.serving import Listen
from services.emulators.tls import LocalCa, create_ca
from shared.clock import Clock
from shared.embedded.ports import free_port
from tests.support.emulator_client import EmulatorInspection, serving

TEAM_ID = "TEAMHERALD"
TOPIC = "com.example.herald"


@dataclass(frozen=True)
class RunningApnsEmulator(EmulatorInspection):
    """Where the emulator listens, the CA to trust and the key it trusts."""

    host: str
    tls_port: int
    http_url: str
    ca: LocalCa
    key_path: Path
    app: FastAPI

    def dispatcher_settings(self) -> dict[str, Any]:
        """DispatcherSettings fields that aim an APNs dispatcher at this emulator."""
        return {
            "dispatcher_platform": "apns",
            "apns_topic": TOPIC,
            "apns_key_file": self.key_path,
            "apns_team_id": TEAM_ID,
            "apns_host": self.host,
            "apns_port": self.tls_port,
            "apns_ca_bundle": self.ca.cert_path,
        }

    @property
    def inspection_url(self) -> str:
        return self.http_url

    async def requests(self, token: str | None = None) -> list[dict[str, Any]]:
        return await self.listing("/emulator/requests", "requests", token)


@asynccontextmanager
async def apns_emulator(
    folder: Path,
    *,
    clock: Clock | None = None,
    client_ca: bool = False,
    like: RunningApnsEmulator | None = None,
    stream_window: int = DEFAULT_WINDOW,
    connection_window: int = DEFAULT_WINDOW,
) -> AsyncIterator[RunningApnsEmulator]:
    """Serve an emulator trusting one fresh signing key (and, with ``client_ca``, client certs);
    ``like`` another one: the same CA and key, as Apple's two environments share them. The
    windows are its HTTP/2 flow-control windows (APNs': HTTP/2's default 65,535 bytes)."""
    ca = like.ca if like is not None else create_ca(folder / "ca")
    server = ca.issue_server(folder / "tls")
    key_path = like.key_path if like is not None else write_auth_key(folder / "keys")
    tls_port, http_port = free_port(), free_port()
    settings = ApnsEmulatorSettings(
        http_port=http_port,
        apns_emulator_tls_port=tls_port,
        apns_emulator_auth_keys=[key_path],
        apns_emulator_team_id=TEAM_ID,
        apns_emulator_topics=[TOPIC],
        apns_emulator_client_ca=ca.cert_path if client_ca else None,
        apns_emulator_stream_window=stream_window,
        apns_emulator_connection_window=connection_window,
    )
    app = create_app(settings, clock)
    listen = Listen(
        tls_port,
        http_port,
        server.cert,
        server.key,
        ca.cert_path if client_ca else None,
        settings.flow_windows(),
    )
    async with serving(app, listen) as http_url:
        yield RunningApnsEmulator("127.0.0.1", tls_port, http_url, ca, key_path, app)
