"""The dispatcher's composition root: the one place its parts are wired together."""

from __future__ import annotations

from contracts import topics
from services.dispatcher import metrics
from services.dispatcher.delivery import Deliverer
from services.dispatcher.domain import PausePolicy, RetryPolicy
from services.dispatcher.handlers import PushRequestHandler, RetryHandler
from services.dispatcher.pauses import Pauses
from services.dispatcher.platforms import provider_factory
from services.dispatcher.settings import DispatcherSettings
from services.dispatcher.tenants import TenantProviders
from shared.clock import Clock, SystemClock
from shared.health_app import create_health_app
from shared.kafka import create_bus, subscribe
from shared.kafka.persistent import Sleep
from shared.platforms import PLATFORMS
from shared.runtime import ServiceParts, prepare_topics
from shared.secrets import SecretBox
from shared.tenancy.directory import AppDirectory
from shared.tenancy.feed import AppsFeed


def service_name(settings: DispatcherSettings) -> str:
    """``dispatcher-<platform>``: the service, client and consumer-group name."""
    return f"dispatcher-{settings.dispatcher_platform}"


async def build(
    settings: DispatcherSettings, clock: Clock | None = None, sleep: Sleep | None = None
) -> ServiceParts:
    """Wire one platform's dispatcher: consume its push and retry topics, publish results."""
    clock = clock or SystemClock()
    name = service_name(settings)
    platform = settings.dispatcher_platform
    factory = provider_factory(platform)
    configured = PLATFORMS[platform].configured(settings)
    default = await factory(settings, clock, None) if configured else None
    await prepare_topics(settings)
    directory = AppDirectory(SecretBox(settings))
    feed = AppsFeed(settings, directory, name)
    await feed.start()
    provider = TenantProviders(platform, factory, settings, clock, directory, default)
    policy = RetryPolicy(
        base_delay=settings.dispatcher_retry_base_delay_seconds,
        max_delay=settings.dispatcher_retry_max_delay_seconds,
        horizon=settings.dispatcher_retry_horizon_hours * 3600,
    )
    pauses = Pauses(
        PausePolicy(settings.dispatcher_pause_seconds, settings.dispatcher_pause_max_seconds),
        provider.revision,
        on_pause=metrics.halt_counter(platform),
    )
    deliverer = Deliverer(
        metrics.MeteredProvider(provider, platform),
        clock,
        policy,
        pauses,
        max_in_flight=settings.dispatcher_max_in_flight,
    )
    bus = create_bus(settings, client_id=name)
    first_tries = PushRequestHandler(bus, deliverer, platform, sleep=sleep)
    subscribe(bus, topics.PUSH[platform], group=name, handler=first_tries, clock=clock)
    retries = RetryHandler(
        bus,
        deliverer,
        platform,
        clock,
        hold=settings.dispatcher_retry_hold_seconds,
        batch_size=settings.consumer_max_records,
        requeue_rate=settings.dispatcher_retry_requeue_per_second,
        sleep=sleep,
    )
    subscribe(bus, topics.RETRY[platform], group=f"{name}-retry", handler=retries, clock=clock)
    http_app = create_health_app()
    return ServiceParts(
        name=name,
        bus=bus,
        http_app=http_app,
        http=settings,
        on_stop=[provider.close],
        background=[feed.run],
    )
