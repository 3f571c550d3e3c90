"""The registry's composition root: the one place its parts are wired together."""

from __future__ import annotations

from pathlib import Path

from contracts import topics
from services.registry.api import add_routes
from services.registry.handlers import FanOutHandler, ResultsHandler
from services.registry.settings import RegistrySettings
from services.registry.store import DeviceStore
from shared.auth import ApiKeys
from shared.clock import Clock, SystemClock
from shared.db import create_pool, migrate
from shared.http import app_key_auth, create_http_app
from shared.kafka import create_bus, subscribe
from shared.runtime import ServiceParts, prepare_topics

NAME = "registry"
SCHEMA = "registry"
MIGRATIONS = Path(__file__).parent / "migrations"
FANOUT_GROUP = "registry-fanout"
RESULTS_GROUP = "registry-results"


async def build(settings: RegistrySettings, clock: Clock | None = None) -> ServiceParts:
    """Wire the registry: the device API, the fan-out of counted notifications, push results."""
    clock = clock or SystemClock()
    await prepare_topics(settings)
    pool = await create_pool(settings, SCHEMA)
    try:
        await migrate(pool, SCHEMA, MIGRATIONS)
    except BaseException:
        await pool.close()
        raise
    store = DeviceStore(pool)
    bus = create_bus(settings, client_id=NAME, observability=settings)
    subscribe(
        bus,
        topics.COUNTED,
        group=FANOUT_GROUP,
        handler=FanOutHandler(store, bus, clock),
        clock=clock,
    )
    subscribe(
        bus, topics.RESULTS, group=RESULTS_GROUP, handler=ResultsHandler(store, clock), clock=clock
    )
    http_app = create_http_app(
        title="Herald registry",
        description="Register your users' device tokens. Authenticate with your app's API key.",
    )
    add_routes(http_app, store, clock, app_key_auth(ApiKeys(settings)))
    return ServiceParts(name=NAME, bus=bus, http_app=http_app, http=settings, on_stop=[pool.close])
