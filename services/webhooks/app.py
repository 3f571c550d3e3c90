"""The webhooks service's composition root: the one place its parts are wired together.

Why a retry topic and memory per endpoint, not a queue per endpoint: the deliveries stay on Kafka
(durable, replayable with ``herald dlq``, no database for this service), first tries never wait
behind a retry, and a failing endpoint is tried once per backoff period while its other
deliveries wait on the retry topic; every other webhook goes on at once.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from contracts import topics
from services.webhooks import domain
from services.webhooks.handlers import DeliveryHandler, TraceHandler
from services.webhooks.sender import WebhookSender
from services.webhooks.settings import WebhooksSettings
from shared.clock import Clock, SystemClock
from shared.health_app import create_health_app
from shared.kafka import create_bus, subscribe
from shared.kafka.admin import ensure_topics
from shared.kafka.persistent import Sleep
from shared.runtime import ServiceParts, prepare_topics
from shared.secrets import SecretBox
from shared.tenancy.directory import AppDirectory
from shared.tenancy.feed import AppsFeed

NAME = "webhooks"
DELIVERIES_GROUP = f"{NAME}-deliveries"
RETRY_GROUP = f"{NAME}-retry"
#: A delivery's events take at most this share of a Kafka message; the rest is its envelope.
EVENTS_SHARE_OF_MESSAGE = 0.5


async def build(
    settings: WebhooksSettings, clock: Clock | None = None, sleep: Sleep | None = None
) -> ServiceParts:
    """Wire the webhooks: read the trace, POST deliveries, retry them."""
    clock = clock or SystemClock()
    await prepare_topics(settings)
    directory = AppDirectory(SecretBox(settings))
    feed = AppsFeed(settings, directory, NAME)
    await feed.start()
    bus = create_bus(settings, client_id=NAME)
    making = TraceHandler(
        bus,
        directory,
        clock,
        partial(ensure_topics, settings),
        max_events=settings.webhook_batch_max_events,
        max_bytes=int(settings.max_message_bytes * EVENTS_SHARE_OF_MESSAGE),
    )
    subscribe(bus, topics.TRACE, group=NAME, handler=making, clock=clock)
    sender = WebhookSender(
        settings.webhook_allowed_networks,
        timeout=settings.webhook_request_timeout_seconds,
        max_connections=settings.webhook_max_in_flight,
        ca_bundle=settings.webhook_ca_bundle,
    )
    backoff = domain.EndpointBackoff(
        domain.RetryPolicy(
            base_delay=settings.webhook_retry_base_delay_seconds,
            max_delay=settings.webhook_retry_max_delay_seconds,
            deadline=timedelta(hours=settings.webhook_retry_deadline_hours),
        )
    )
    first_tries = DeliveryHandler(
        bus,
        directory,
        sender,
        backoff,
        clock,
        lane_seconds=settings.webhook_lane_seconds,
        sleep=sleep,
    )
    subscribe(
        bus, topics.WEBHOOK_DELIVERIES, group=DELIVERIES_GROUP, handler=first_tries, clock=clock
    )
    retries = DeliveryHandler(
        bus,
        directory,
        sender,
        backoff,
        clock,
        hold=settings.webhook_retry_hold_seconds,
        lane_seconds=settings.webhook_lane_seconds,
        batch_size=settings.consumer_max_records,
        requeue_rate=settings.webhook_retry_requeue_per_second,
        sleep=sleep,
    )
    subscribe(bus, topics.WEBHOOK_RETRY, group=RETRY_GROUP, handler=retries, clock=clock)
    http_app = create_health_app()
    return ServiceParts(
        name=NAME,
        bus=bus,
        http_app=http_app,
        http=settings,
        on_stop=[sender.close],
        background=[feed.run],
    )
