"""One app's slow endpoint cannot hold every other app's webhooks: each webhook gets a share of a
batch's time, and what its endpoint had no time for waits on the retry topic, unattempted."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta

import pytest

from contracts import topics
from contracts.trace import NotificationTraced
from contracts.webhooks import WebhookDelivery
from services.webhooks import domain
from services.webhooks.handlers import DeliveryHandler
from services.webhooks.sender import Reply
from shared.kafka import Received
from shared.tenancy.directory import AppWebhook
from tests.support.clock import FrozenClock
from tests.support.publisher import RecordingPublisher

pytestmark = pytest.mark.unit

SLOW, FAST = "https://slow.example/hook", "https://fast.example/hook"


class Endpoints:
    """Answers 200 to every POST; the slow one after nine seconds of the test's clock."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self.posted: list[str] = []

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> Reply:
        self.posted.append(url)
        if url == SLOW:
            self.clock.advance(seconds=9)
        return Reply(200, None, "")


class Registered:
    def __init__(self, *hooks: AppWebhook) -> None:
        self.hooks = {(hook.app_id, hook.webhook_id): hook for hook in hooks}

    def webhook(self, app_id: str, webhook_id: uuid.UUID) -> AppWebhook | None:
        return self.hooks.get((app_id, webhook_id))


def hook(app_id: str, url: str) -> AppWebhook:
    return AppWebhook(app_id, uuid.uuid4(), url, frozenset({"sent"}), b"secret")


def delivery(clock: FrozenClock, to: AppWebhook, offset: int) -> Received[WebhookDelivery]:
    event = NotificationTraced.step(
        "sent",
        app_id=to.app_id,
        notification_id=uuid.uuid4(),
        occurred_at=clock.now(),
        user_id="u",
        device_id=uuid.uuid4(),
        platform="fcm",
        outcome="delivered",
        attempt=1,
    )
    message = WebhookDelivery(
        event_id=uuid.uuid4(),
        app_id=to.app_id,
        occurred_at=clock.now(),
        webhook_id=to.webhook_id,
        events=[event],
    )
    return Received(
        message, "webhooks.deliveries", 0, offset, None, message.model_dump_json().encode()
    )


async def test_a_slow_endpoint_gets_its_share_and_the_rest_of_its_deliveries_wait() -> None:
    clock = FrozenClock()
    slow, fast = hook("slow-app", SLOW), hook("fast-app", FAST)
    endpoints, bus = Endpoints(clock), RecordingPublisher()
    policy = domain.RetryPolicy(base_delay=1.0, max_delay=60.0, deadline=timedelta(hours=24))
    handler = DeliveryHandler(
        bus,
        Registered(slow, fast),
        endpoints,
        domain.EndpointBackoff(policy),
        clock,
        lane_seconds=10.0,
    )
    batch = [delivery(clock, slow, n) for n in range(5)] + [delivery(clock, fast, 5)]

    parked = await handler(batch)

    waiting = [m for m in bus.on(topics.WEBHOOK_RETRY) if isinstance(m, WebhookDelivery)]
    assert parked == []
    assert endpoints.posted.count(SLOW) == 2
    assert endpoints.posted.count(FAST) == 1
    assert [m.event_id for m in waiting] == [item.message.event_id for item in batch[2:5]]
    assert all(m.attempt == 0 for m in waiting)
