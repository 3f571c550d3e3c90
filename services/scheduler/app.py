"""The scheduler's composition root: the one place its parts are wired together."""

from __future__ import annotations

from contracts import topics
from services.scheduler.handlers import UserNotificationHandler
from services.scheduler.settings import SchedulerSettings
from shared.clock import Clock, SystemClock
from shared.http import create_http_app
from shared.kafka import create_bus, subscribe
from shared.runtime import ServiceParts, prepare_topics

NAME = "scheduler"


async def build(settings: SchedulerSettings, clock: Clock | None = None) -> ServiceParts:
    """Wire the scheduler: consume per-user notifications, publish due ones."""
    clock = clock or SystemClock()
    await prepare_topics(settings)
    bus = create_bus(settings, client_id=NAME, observability=settings)
    subscribe(
        bus, topics.USER, group=NAME, handler=UserNotificationHandler(bus, clock), clock=clock
    )
    http_app = create_http_app(title="Herald scheduler", description="Health endpoints.")
    return ServiceParts(name=NAME, bus=bus, http_app=http_app, http=settings)
