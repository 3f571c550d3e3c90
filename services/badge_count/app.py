"""Badge-count's composition root: the one place its parts are wired together."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from contracts import topics
from services.badge_count.domain import ARRIVAL_HORIZON
from services.badge_count.handlers import DueHandler, ReadsHandler
from services.badge_count.http_api import add_routes
from services.badge_count.settings import BadgeCountSettings
from services.badge_count.store import BadgeStore
from shared.clock import Clock, SystemClock
from shared.db import create_pool, migrate
from shared.health import DatabaseProbe
from shared.http import authorize, create_http_app
from shared.kafka import create_bus, subscribe
from shared.retention import Pruner
from shared.runtime import ServiceParts, prepare_topics
from shared.tenancy import start_tenancy

NAME = "badge-count"
SCHEMA = "badge_count"
MIGRATIONS = Path(__file__).parent / "migrations"


async def build(settings: BadgeCountSettings, clock: Clock | None = None) -> ServiceParts:
    """Wire badge-count: count due notifications, apply reads, answer badge queries."""
    clock = clock or SystemClock()
    pool = await create_pool(settings, SCHEMA)
    await migrate(pool, SCHEMA, MIGRATIONS)
    await prepare_topics(settings)
    bus = create_bus(settings, client_id=NAME)
    store = BadgeStore(pool)
    subscribe(bus, topics.DUE, group=NAME, handler=DueHandler(pool, store, bus, clock), clock=clock)
    subscribe(
        bus,
        topics.READS,
        group=f"{NAME}-reads",
        handler=ReadsHandler(pool, store, bus, clock),
        clock=clock,
    )
    http_app = create_http_app(
        title="Herald badge-count",
        description="Each user's badge and unread notifications, kept by the server.",
    )
    tenancy = await start_tenancy(settings, settings, NAME)
    add_routes(
        http_app, store, authorize(tenancy.authenticator, tenancy.limiter, "badges", users=True)
    )
    return ServiceParts(
        name=NAME,
        bus=bus,
        http_app=http_app,
        http=settings,
        on_stop=[pool.close],
        probes=[DatabaseProbe(pool)],
        background=[
            tenancy.feed.run,
            ledger_pruner(store, clock, timedelta(days=settings.badge_retention_days)).run,
        ],
    )


def ledger_pruner(store: BadgeStore, clock: Clock, retention: timedelta) -> Pruner:
    """The loop that forgets applied reports and settled reads older than ``retention``."""

    async def prune(before: datetime, limit: int) -> int:
        return await store.prune(before, before - ARRIVAL_HORIZON, limit)

    return Pruner("applied reads", prune, clock, retention)
