"""The tracker's composition root: the one place its parts are wired together."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from contracts import topics
from contracts.apps import Scope
from services.tracker.handlers import ReadsHandler, TraceHandler
from services.tracker.http_api import add_routes
from services.tracker.settings import TrackerSettings
from services.tracker.store import TrackerStore
from shared.clock import Clock, SystemClock
from shared.db import create_pool, migrate
from shared.health import DatabaseProbe
from shared.http import authorize, create_http_app
from shared.kafka import create_bus, subscribe
from shared.retention import Pruner
from shared.runtime import ServiceParts, prepare_topics
from shared.tenancy import start_tenancy

NAME = "tracker"
SCHEMA = "tracker"
MIGRATIONS = Path(__file__).parent / "migrations"
#: Server API keys need this scope: whoever may send may see what became of it.
SCOPE: Scope = "send"


async def build(settings: TrackerSettings, clock: Clock | None = None) -> ServiceParts:
    """Wire the tracker: record trace steps and reads, serve timelines and inboxes."""
    clock = clock or SystemClock()
    pool = await create_pool(settings, SCHEMA)
    await migrate(pool, SCHEMA, MIGRATIONS)
    await prepare_topics(settings)
    bus = create_bus(settings, client_id=NAME)
    store = TrackerStore(pool)
    subscribe(bus, topics.TRACE, group=NAME, handler=TraceHandler(pool, store), clock=clock)
    subscribe(
        bus, topics.BADGES, group=f"{NAME}-reads", handler=ReadsHandler(pool, store), clock=clock
    )
    http_app = create_http_app(
        title="Herald tracker",
        description="What happened to each notification, per user and device, and users' inboxes.",
    )
    tenancy = await start_tenancy(settings, settings, NAME)
    add_routes(
        http_app,
        store,
        servers=authorize(tenancy.authenticator, tenancy.limiter, SCOPE),
        servers_or_users=authorize(tenancy.authenticator, tenancy.limiter, SCOPE, users=True),
    )
    retention = timedelta(days=settings.tracker_retention_days)
    return ServiceParts(
        name=NAME,
        bus=bus,
        http_app=http_app,
        http=settings,
        on_stop=[pool.close],
        probes=[DatabaseProbe(pool)],
        background=[tenancy.feed.run, Pruner("timelines", store.prune, clock, retention).run],
    )
