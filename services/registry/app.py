"""The registry's composition root: the one place its features (apps, devices, audiences,
preferences, reads) are wired together."""

from __future__ import annotations

import logging
from datetime import timedelta

from contracts import topics
from services.registry.apps.admin import AppAdmin
from services.registry.apps.admin_api import PREFIX as ADMIN_PREFIX
from services.registry.apps.admin_api import add_admin_routes
from services.registry.apps.admin_auth import admin_access
from services.registry.apps.admin_credentials_api import add_credential_routes
from services.registry.apps.category_api import add_category_routes
from services.registry.apps.dead_letters_api import add_dead_letter_routes
from services.registry.apps.healing import AppsHealer
from services.registry.apps.http_api import add_app_routes
from services.registry.apps.store import MIGRATIONS as MIGRATIONS
from services.registry.apps.store import SCHEMA as SCHEMA
from services.registry.apps.webhook_api import add_webhook_routes
from services.registry.audiences.http_api import add_audience_routes
from services.registry.audiences.store import AudienceStore
from services.registry.audiences.streaming import AudienceHandler
from services.registry.devices.handlers import FanOutHandler, ResultsHandler
from services.registry.devices.http_api import add_routes
from services.registry.devices.hygiene import token_hygiene
from services.registry.devices.store import DeviceStore
from services.registry.preferences.http_api import add_preference_routes
from services.registry.preferences.store import PreferenceStore
from services.registry.reads.flusher import SyncFlusher, sync_state_pruner
from services.registry.reads.handlers import BadgeChangeHandler
from services.registry.reads.http_api import add_read_routes
from services.registry.reads.opens import add_open_routes
from services.registry.reads.store import SyncStore
from services.registry.settings import RegistrySettings
from shared.clock import Clock, SystemClock
from shared.db import create_pool, migrate
from shared.health import DatabaseProbe
from shared.http import app_of, authorize, create_http_app
from shared.kafka import create_bus, subscribe
from shared.platforms.fcm.credentials import GOOGLE_TOKEN_URI
from shared.retention import Pruner
from shared.runtime import ServiceParts, prepare_topics
from shared.secrets import SecretBox
from shared.tenancy import start_tenancy

log = logging.getLogger(__name__)

NAME = "registry"
FANOUT_GROUP = "registry-fanout"
RESULTS_GROUP = "registry-results"
SYNC_GROUP = "registry-sync"
AUDIENCE_GROUP = "registry-audience"


async def build(settings: RegistrySettings, clock: Clock | None = None) -> ServiceParts:
    """Wire the registry: the device, topics and tags API, the streaming of audiences, the
    fan-out of counted notifications, push results."""
    clock = clock or SystemClock()
    await prepare_topics(settings)
    pool = await create_pool(settings, SCHEMA)
    try:
        await migrate(pool, SCHEMA, MIGRATIONS)
    except BaseException:
        await pool.close()
        raise
    store = DeviceStore(pool)
    preference_store = PreferenceStore(pool)
    bus = create_bus(settings, client_id=NAME)
    subscribe(
        bus,
        topics.COUNTED,
        group=FANOUT_GROUP,
        handler=FanOutHandler(store, preference_store, bus, clock),
        clock=clock,
    )
    audience_store = AudienceStore(pool)
    subscribe(
        bus,
        topics.AUDIENCE,
        group=AUDIENCE_GROUP,
        handler=AudienceHandler(
            audience_store,
            bus,
            clock,
            page_users=settings.audience_page_users,
            pages_per_turn=settings.audience_pages_per_turn,
        ),
        clock=clock,
        max_records=1,
        max_poll_interval_ms=settings.audience_stream_max_seconds * 1000,
    )
    subscribe(
        bus,
        topics.RESULTS,
        group=RESULTS_GROUP,
        handler=ResultsHandler(store, bus, clock),
        clock=clock,
    )
    sync_store = SyncStore()
    window = timedelta(milliseconds=settings.sync_merge_window_ms)
    subscribe(
        bus,
        topics.BADGES,
        group=SYNC_GROUP,
        handler=BadgeChangeHandler(pool, sync_store, clock, window),
        clock=clock,
    )
    flusher = SyncFlusher(
        pool,
        sync_store,
        store,
        bus,
        clock,
        interval=timedelta(milliseconds=settings.sync_flush_interval_ms),
        wakes_per_hour=settings.apns_wakes_per_hour,
    )
    http_app = create_http_app(
        title="Herald registry",
        description="Register your users' device tokens. Authenticate with your app's API key.",
    )
    await bus.broker.connect()
    admin = AppAdmin(
        pool, bus, SecretBox(settings), clock, webhook_networks=settings.webhook_allowed_networks
    )
    try:
        announced = await admin.announce_all()
    except BaseException:
        await bus.broker.stop()
        await pool.close()
        raise
    log.info("announced %d apps", announced)
    healer = AppsHealer(admin)
    tenancy = await start_tenancy(settings, settings, NAME, on_refused=healer.refused)
    devices_scope = authorize(tenancy.authenticator, tenancy.limiter, "devices", users=True)
    add_routes(
        http_app,
        store,
        clock,
        devices_scope,
        preference_store,
        bus,
        max_devices=settings.max_devices_per_user,
    )
    add_audience_routes(
        http_app,
        audience_store,
        store,
        clock,
        devices_scope,
        max_topics=settings.max_topics_per_device,
        max_user_topics=settings.max_topics_per_user,
        max_tags=settings.max_tags,
    )
    badges_scope = authorize(tenancy.authenticator, tenancy.limiter, "badges", users=True)
    add_read_routes(http_app, store, bus, clock, badges_scope)
    add_open_routes(http_app, store, bus, clock, badges_scope)
    add_preference_routes(http_app, preference_store, bus, clock, devices_scope)
    admin_scope = authorize(tenancy.authenticator, tenancy.limiter, "admin")
    access = admin_access(settings.operator_keys, admin_scope)
    add_admin_routes(http_app, admin, access)
    add_credential_routes(
        http_app, admin, access, fcm_token_uris={GOOGLE_TOKEN_URI, settings.fcm_token_uri}
    )
    add_dead_letter_routes(http_app, settings, access)
    managed_prefix = ADMIN_PREFIX + "/{app_id}"
    add_category_routes(http_app, admin, app_of(admin_scope))
    add_category_routes(http_app, admin, access.managed_app, prefix=managed_prefix)
    add_webhook_routes(http_app, admin, app_of(admin_scope))
    add_webhook_routes(http_app, admin, access.managed_app, prefix=managed_prefix)
    add_app_routes(http_app, tenancy.directory, devices_scope)
    hygiene = token_hygiene(
        store,
        clock,
        stale_after=timedelta(days=settings.device_stale_after_days),
        delete_after=timedelta(days=settings.device_delete_after_days),
        interval=timedelta(minutes=settings.device_hygiene_interval_minutes),
    )
    return ServiceParts(
        name=NAME,
        bus=bus,
        http_app=http_app,
        http=settings,
        on_stop=[pool.close],
        probes=[DatabaseProbe(pool)],
        background=[
            flusher.run,
            sync_state_pruner(
                pool, sync_store, clock, timedelta(days=settings.sync_retention_days)
            ).run,
            tenancy.feed.run,
            healer.run,
            Pruner(
                "finished audience streams",
                audience_store.prune_streams,
                clock,
                timedelta(days=settings.audience_stream_retention_days),
            ).run,
            *(pruner.run for pruner in hygiene),
        ],
    )
