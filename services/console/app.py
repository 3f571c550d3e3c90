"""The console's composition root: the one place its parts are wired, and how it is served."""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass

import httpx
import uvicorn
from fastapi import FastAPI

from services.console.dead_letters import add_dead_letters
from services.console.operations import add_operations
from services.console.pages import add_pages
from services.console.session import SessionBox
from services.console.settings import ConsoleSettings
from services.console.upstream import Upstream
from services.console.users import add_users
from services.console.web import add_shared
from shared.clock import Clock, SystemClock
from shared.health import Readiness
from shared.http import create_http_app
from shared.metrics import expose_metrics

NAME = "console"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HealthProbe:
    """An API the console calls, answering its /healthz."""

    name: str
    url: str
    client: httpx.AsyncClient

    async def check(self) -> None:
        response = await self.client.get(f"{self.url.rstrip('/')}/healthz")
        response.raise_for_status()


@dataclass(frozen=True)
class ConsoleParts:
    http_app: FastAPI
    client: httpx.AsyncClient
    readiness: Readiness


def build(
    settings: ConsoleSettings,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ConsoleParts:
    """Wire the console: pages, the APIs it calls, its session cookie and its probes.
    ``transport``: where its API calls go instead of the network (tests serve the APIs in-process).
    """
    if not settings.console_htmx_file.is_file():
        raise RuntimeError(
            f"htmx is missing at {settings.console_htmx_file}: run `make install` (npm ci "
            "--prefix services/console) or set HERALD_CONSOLE_HTMX_FILE"
        )
    clock = clock or SystemClock()
    client = httpx.AsyncClient(
        timeout=settings.console_request_timeout_seconds, transport=transport
    )
    http_app = create_http_app(
        title="Herald console",
        description="Compose, preview, send and follow notifications; operate an app.",
    )
    http_app.state.sessions = SessionBox(
        [key.get_secret_value() for key in settings.console_session_keys],
        settings.console_session_hours * 3600,
    )
    http_app.state.secure_cookie = settings.console_secure_cookie
    upstream = Upstream(client, settings)
    add_shared(http_app, settings.console_htmx_file)
    add_pages(http_app, upstream, clock, int(settings.console_session_hours * 3600))
    add_operations(http_app, upstream)
    add_dead_letters(http_app, upstream)
    add_users(http_app, upstream)
    probes = [
        HealthProbe("ingest", settings.console_ingest_url, client),
        HealthProbe("registry", settings.console_registry_url, client),
        HealthProbe("tracker", settings.console_tracker_url, client),
    ]
    return ConsoleParts(http_app, client, Readiness(probes, clock, settings))


class _Server(uvicorn.Server):
    """Uvicorn that marks the console ready once it listens."""

    def __init__(self, app: FastAPI, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._app = app

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._app.state.ready = True
            log.info("%s serving on http://%s:%d", NAME, self.config.host, self.config.port)


async def serve(parts: ConsoleParts, settings: ConsoleSettings) -> None:
    """Serve until SIGTERM/SIGINT (uvicorn's own handling: the console holds no consumer)."""
    expose_metrics(parts.http_app)
    parts.http_app.state.readiness = parts.readiness
    stopping = asyncio.Event()
    probing = asyncio.create_task(parts.readiness.run(stopping))
    server = _Server(
        parts.http_app,
        uvicorn.Config(
            parts.http_app,
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            access_log=False,
            lifespan="off",
        ),
    )
    try:
        await server.serve()
    finally:
        parts.http_app.state.ready = False
        stopping.set()
        await probing
        await parts.client.aclose()
