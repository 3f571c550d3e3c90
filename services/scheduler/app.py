"""The scheduler's composition root: the one place its parts are wired together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from contracts import topics
from services.scheduler.handlers import (
    CancelHandler,
    PreferencesHandler,
    UserNotificationHandler,
)
from services.scheduler.planning import Planner
from services.scheduler.release import ReleaseLoop
from services.scheduler.settings import SchedulerSettings
from services.scheduler.store import SchedulerStore
from shared.clock import Clock, SystemClock
from shared.db import create_pool, migrate
from shared.health import DatabaseProbe
from shared.health_app import create_health_app
from shared.kafka import create_bus, subscribe
from shared.runtime import ServiceParts, prepare_topics

NAME = "scheduler"
SCHEMA = "scheduler"
MIGRATIONS = Path(__file__).parent / "migrations"
CANCEL_GROUP = "scheduler-cancels"
PREFERENCES_GROUP = "scheduler-preferences"


@dataclass(frozen=True)
class Scheduler:
    """The runnable parts plus the release loop, which tests wake after moving their clock."""

    parts: ServiceParts
    releaser: ReleaseLoop


async def assemble(settings: SchedulerSettings, clock: Clock | None = None) -> Scheduler:
    """Wire the scheduler: planning of users' copies, cancels, preferences, the release loop."""
    clock = clock or SystemClock()
    pool = await create_pool(settings, SCHEMA)
    try:
        await migrate(pool, SCHEMA, MIGRATIONS)
    except BaseException:
        await pool.close()
        raise
    await prepare_topics(settings)
    bus = create_bus(settings, client_id=NAME)
    store = SchedulerStore(pool)
    releaser = ReleaseLoop(
        store,
        bus,
        clock,
        batch_size=settings.scheduler_release_batch,
        poll=timedelta(seconds=settings.scheduler_poll_seconds),
        lock_timeout=timedelta(seconds=settings.scheduler_lock_timeout_seconds),
        retention=timedelta(hours=settings.scheduler_retention_hours),
    )
    planner = Planner(store, bus, clock, releaser.wake)
    subscribe(bus, topics.USER, group=NAME, handler=UserNotificationHandler(planner), clock=clock)
    subscribe(
        bus,
        topics.CANCEL,
        group=CANCEL_GROUP,
        handler=CancelHandler(store, bus, clock, page_copies=settings.scheduler_cancel_page_copies),
        clock=clock,
    )
    subscribe(
        bus,
        topics.PREFERENCES,
        group=PREFERENCES_GROUP,
        handler=PreferencesHandler(store, clock, releaser.wake),
        clock=clock,
    )
    http_app = create_health_app()
    parts = ServiceParts(
        name=NAME,
        bus=bus,
        http_app=http_app,
        http=settings,
        on_stop=[pool.close],
        probes=[DatabaseProbe(pool)],
        background=[releaser.run],
    )
    return Scheduler(parts, releaser)


async def build(settings: SchedulerSettings, clock: Clock | None = None) -> ServiceParts:
    """The scheduler's parts for the runtime."""
    return (await assemble(settings, clock)).parts
