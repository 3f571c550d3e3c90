"""Ingest's composition root: the one place its parts are wired together."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from contracts import topics
from services.ingest.acceptance import Acceptor
from services.ingest.cancel import CancelResults, add_cancel_routes
from services.ingest.handlers import CancelRequestHandler, SubmittedHandler
from services.ingest.http_api import add_routes
from services.ingest.identity import NotificationIds
from services.ingest.intake_auth import IntakeAuth
from services.ingest.settings import IngestSettings
from services.ingest.store import SubmissionStore
from shared.clock import Clock, SystemClock
from shared.db import create_pool, migrate
from shared.health import DatabaseProbe
from shared.http import app_of, authorize, create_http_app
from shared.kafka import create_bus, subscribe
from shared.retention import Pruner
from shared.runtime import ServiceParts, prepare_topics
from shared.secrets import SecretBox
from shared.tenancy import start_tenancy

NAME = "ingest"
SCHEMA = "ingest"
CANCEL_GROUP = "ingest-cancels"
MIGRATIONS = Path(__file__).parent / "migrations"


async def build(settings: IngestSettings, clock: Clock | None = None) -> ServiceParts:
    """Wire ingest: HTTP API and submitted-topic consumer over one Acceptor, and the consumer of
    senders' cancel requests."""
    clock = clock or SystemClock()
    ids = NotificationIds(SecretBox(settings))
    pool = await create_pool(settings, SCHEMA)
    await migrate(pool, SCHEMA, MIGRATIONS)
    await prepare_topics(settings)
    bus = create_bus(settings, client_id=NAME)
    tenancy = await start_tenancy(settings, settings, NAME)
    store = SubmissionStore(pool)
    acceptor = Acceptor(
        store,
        bus,
        clock,
        ids,
        max_content_bytes=settings.max_content_bytes,
        categories=tenancy.directory.category,
    )
    intake_auth = IntakeAuth(tenancy.directory)
    subscribe(
        bus,
        topics.SUBMITTED,
        group=NAME,
        handler=SubmittedHandler(acceptor, intake_auth),
        clock=clock,
    )
    subscribe(
        bus,
        topics.CANCEL_REQUESTED,
        group=CANCEL_GROUP,
        handler=CancelRequestHandler(store, ids, intake_auth, bus, clock),
        clock=clock,
    )
    http_app = create_http_app(
        title="Herald ingest",
        description="Send notifications to your users. Authenticate with your app's API key.",
    )
    authenticated_app = app_of(authorize(tenancy.authenticator, tenancy.limiter, "send"))
    add_routes(http_app, acceptor, authenticated_app)
    cancel_results = CancelResults(bus)
    add_cancel_routes(
        http_app,
        store,
        bus,
        cancel_results,
        clock,
        authenticated_app,
        reply_timeout=settings.cancel_reply_timeout_seconds,
    )
    return ServiceParts(
        name=NAME,
        bus=bus,
        http_app=http_app,
        http=settings,
        on_stop=[pool.close],
        probes=[DatabaseProbe(pool)],
        background=[
            cancel_results.run,
            tenancy.feed.run,
            Pruner(
                "idempotency keys",
                store.prune,
                clock,
                timedelta(days=settings.idempotency_retention_days),
            ).run,
        ],
    )
