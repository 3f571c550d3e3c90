"""The Web Push emulator served for real (TLS + HTTP/2 by hypercorn) on free loopback ports, with a
fresh CA and VAPID key, and subscriptions it issues."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from services.emulators.serving import Listen
from services.emulators.tls import LocalCa, create_ca
from services.emulators.webpush.app import create_app
from services.emulators.webpush.keys import write_vapid_key
from services.emulators.webpush.settings import WebPushEmulatorSettings
from shared.clock import Clock
from shared.embedded.ports import free_port
from tests.support.emulator_client import EmulatorInspection, serving

VAPID_SUBJECT = "mailto:ops@herald.example"


@dataclass(frozen=True)
class RunningWebPushEmulator(EmulatorInspection):
    """Where the emulator listens, the CA to trust and the VAPID key Herald signs with."""

    http_url: str
    ca: LocalCa
    vapid_key_path: Path
    vapid_public_key: str
    app: FastAPI
    tls_port: int

    def dispatcher_settings(self) -> dict[str, Any]:
        """DispatcherSettings fields that aim a Web Push dispatcher at this emulator."""
        return {
            "dispatcher_platform": "webpush",
            "webpush_vapid_private_key_file": self.vapid_key_path,
            "webpush_vapid_subject": VAPID_SUBJECT,
            "webpush_allowed_hosts": [f"127.0.0.1:{self.tls_port}"],
            "webpush_ca_bundle": self.ca.cert_path,
        }

    async def subscribe(self, *, bind_vapid: bool = True) -> str:
        """A new subscription as a registry token (compact JSON), bound to Herald's VAPID key."""
        body = {"application_server_key": self.vapid_public_key} if bind_vapid else {}
        async with httpx.AsyncClient(base_url=self.http_url, trust_env=False) as client:
            reply = await client.post("/emulator/subscriptions", json=body)
            reply.raise_for_status()
            subscription = reply.json()
        return json.dumps(
            {"endpoint": subscription["endpoint"], "keys": subscription["keys"]},
            separators=(",", ":"),
        )

    @property
    def inspection_url(self) -> str:
        return self.http_url

    def token_filter(self, token: str) -> dict[str, str]:
        return {"subscription": subscription_id(token)}

    async def requests(self, token: str | None = None) -> list[dict[str, Any]]:
        return await self.listing("/emulator/requests", "requests", token)


def subscription_id(token: str) -> str:
    """The emulator's id of a subscription token (the last segment of its endpoint)."""
    endpoint: str = json.loads(token)["endpoint"]
    return endpoint.rsplit("/", 1)[-1]


@asynccontextmanager
async def webpush_emulator(
    folder: Path, *, clock: Clock | None = None
) -> AsyncIterator[RunningWebPushEmulator]:
    """Serve an emulator with a fresh CA; write a fresh VAPID key for the dispatcher."""
    ca = create_ca(folder / "ca")
    server = ca.issue_server(folder / "tls")
    vapid_key_path = folder / "vapid" / "vapid-private.pem"
    vapid_public = write_vapid_key(vapid_key_path)
    tls_port, http_port = free_port(), free_port()
    settings = WebPushEmulatorSettings(http_port=http_port, webpush_emulator_tls_port=tls_port)
    app = create_app(settings, clock)
    listen = Listen(tls_port, http_port, server.cert, server.key)
    async with serving(app, listen) as http_url:
        yield RunningWebPushEmulator(http_url, ca, vapid_key_path, vapid_public, app, tls_port)
