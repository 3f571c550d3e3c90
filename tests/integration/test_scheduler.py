"""The scheduler against the real broker: per-user notifications come out due."""

from __future__ import annotations

import pytest

from contracts import topics
from contracts.notifications import NotificationDue
from services.scheduler.app import build
from services.scheduler.settings import SchedulerSettings
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.ports import free_port
from tests.support.clock import FrozenClock
from tests.support.factories import user_notification
from tests.support.kafka import TopicIO, kafka_settings_for_test
from tests.support.services import running

pytestmark = pytest.mark.integration


async def test_due_now_notifications_are_released_in_order(broker: EmbeddedBroker) -> None:
    kafka = kafka_settings_for_test(broker.bootstrap)
    settings = SchedulerSettings(**kafka.model_dump(), http_port=free_port())
    clock = FrozenClock()
    io = TopicIO(kafka)
    sent = [user_notification(clock.now(), user_id="u1") for _ in range(3)]

    async with running(await build(settings, clock)):
        await io.produce(topics.USER, *sent)
        due = await io.read(topics.DUE, until=lambda found: len(found) >= 3)

    assert all(isinstance(item, NotificationDue) for item in due)
    assert [d.notification_id for d in due] == [s.notification_id for s in sent]
    assert all(d.due_at == clock.now() for d in due)
