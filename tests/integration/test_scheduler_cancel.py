"""Cancels through the real broker and PostgreSQL: on Kafka against the scheduler, and over HTTP
through ingest; held copies are dropped and a cancel after release is reported too late."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from contracts import topics
from contracts.schedule import (
    NotificationCancel,
    NotificationCancelRequested,
    NotificationCancelResult,
)
from services.ingest.app import build as build_ingest
from services.ingest.settings import IngestSettings
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.ports import free_port
from shared.embedded.postgres import EmbeddedPostgres
from shared.secrets import SecretBox, new_secrets_key
from shared.settings import KafkaSettings
from shared.tenancy.auth import key_digest, new_api_key
from tests.support.clock import FrozenClock
from tests.support.factories import unique, user_notification
from tests.support.intake import IntakeKey, announce_intake_keys
from tests.support.kafka import TopicIO, kafka_settings_for_test
from tests.support.registry import eventually
from tests.support.scheduler import copy_states, fresh_database, running_scheduler
from tests.support.services import running

pytestmark = pytest.mark.integration

APP = "testapp"
OTHER_APP = "otherapp"


@pytest.fixture
def kafka(broker: EmbeddedBroker) -> KafkaSettings:
    return kafka_settings_for_test(broker.bootstrap)


@pytest.fixture
async def dsn(postgres: EmbeddedPostgres) -> str:
    return await fresh_database(postgres.dsn)


def cancel_of(notification_id: uuid.UUID, now: datetime) -> NotificationCancel:
    return NotificationCancel(
        event_id=uuid.uuid4(), app_id=APP, occurred_at=now, notification_id=notification_id
    )


async def result_of(io: TopicIO, cancel: NotificationCancel) -> NotificationCancelResult:
    return await result_of_request(io, cancel.event_id)


async def result_of_request(io: TopicIO, event_id: uuid.UUID) -> NotificationCancelResult:
    """The result of the cancel, or of the sender's cancel request, with this event id."""
    found = await io.read(
        topics.CANCEL_RESULTS,
        until=lambda found: any(r.request_event_id == event_id for r in found),
    )
    [result] = [r for r in found if r.request_event_id == event_id]
    assert isinstance(result, NotificationCancelResult)
    return result


async def stages_of(io: TopicIO, notification_id: uuid.UUID, count: int) -> list[tuple[str, str]]:
    """The notification's trace steps as (user, stage), read until there are ``count``."""

    def steps(found: list[Any]) -> list[tuple[str, str]]:
        return sorted((s.user_id, s.stage) for s in found if s.notification_id == notification_id)

    return steps(await io.read(topics.TRACE, until=lambda found: len(steps(found)) >= count))


async def states_become(dsn: str, expected: dict[str, str]) -> None:
    async def check() -> bool:
        states = await copy_states(dsn)
        return all(states.get(user) == state for user, state in expected.items())

    await eventually(check)


async def due_users_after_sentinel(io: TopicIO, clock: FrozenClock) -> set[str]:
    """Users released so far, read up to a copy due now produced after everything else."""
    sentinel = user_notification(clock.now())
    await io.produce(topics.USER, sentinel)
    due = await io.read(
        topics.DUE, until=lambda found: any(d.user_id == sentinel.user_id for d in found)
    )
    return {d.user_id for d in due}


async def test_a_cancel_before_release_drops_every_held_copy_reporting_drops_in_pages(
    kafka: KafkaSettings, dsn: str
) -> None:
    clock = FrozenClock()
    io = TopicIO(kafka)
    campaign = uuid.uuid4()
    later = {"send_at": clock.now() + timedelta(hours=1)}
    copies = [
        user_notification(clock.now(), notification_id=campaign, schedule=later) for _ in range(5)
    ]
    users = {copy.user_id for copy in copies}
    cancel = cancel_of(campaign, clock.now())

    async with running_scheduler(kafka, dsn, clock, scheduler_cancel_page_copies=2) as scheduler:
        await io.produce(topics.USER, *copies)
        await states_become(dsn, dict.fromkeys(users, "held"))
        await io.produce(topics.CANCEL, cancel)
        result = await result_of(io, cancel)
        clock.advance(hours=2)
        scheduler.releaser.wake()
        released = await due_users_after_sentinel(io, clock)

    assert (result.outcome, result.dropped, result.released) == ("cancelled", 5, 0)
    assert not users & released
    assert set((await copy_states(dsn)).values()) >= {"cancelled"}
    assert await stages_of(io, campaign, 10) == sorted(
        [(user, "cancelled") for user in users] + [(user, "held") for user in users]
    )


async def test_a_cancel_after_release_is_reported_too_late(kafka: KafkaSettings, dsn: str) -> None:
    clock = FrozenClock()
    io = TopicIO(kafka)
    sent = user_notification(clock.now())
    cancel = cancel_of(sent.notification_id, clock.now())

    async with running_scheduler(kafka, dsn, clock):
        await io.produce(topics.USER, sent)
        await states_become(dsn, {sent.user_id: "released"})
        await io.produce(topics.CANCEL, cancel)
        result = await result_of(io, cancel)

    assert (result.outcome, result.dropped, result.released) == ("too_late", 0, 1)


async def test_a_cancel_midway_through_a_paced_send_stops_the_rest(
    kafka: KafkaSettings, dsn: str
) -> None:
    clock = FrozenClock()
    io = TopicIO(kafka)
    campaign = uuid.uuid4()
    paced = {"rate_per_minute": 60}
    copies = [
        user_notification(clock.now(), notification_id=campaign, schedule=paced) for _ in range(4)
    ]
    cancel = cancel_of(campaign, clock.now())

    async with running_scheduler(kafka, dsn, clock) as scheduler:
        await io.produce(topics.USER, *copies)
        await eventually(lambda: _count(dsn, "released", 1))
        clock.advance(seconds=1.5)
        scheduler.releaser.wake()
        await eventually(lambda: _count(dsn, "released", 2))
        await io.produce(topics.CANCEL, cancel)
        result = await result_of(io, cancel)

    assert (result.outcome, result.dropped, result.released) == ("partially_cancelled", 2, 2)


async def _count(dsn: str, state: str, expected: int) -> bool:
    return list((await copy_states(dsn)).values()).count(state) == expected


async def test_copies_arriving_after_a_cancel_are_dropped(kafka: KafkaSettings, dsn: str) -> None:
    clock = FrozenClock()
    io = TopicIO(kafka)
    campaign = uuid.uuid4()
    cancel = cancel_of(campaign, clock.now())
    late = [user_notification(clock.now(), notification_id=campaign) for _ in range(2)]

    async with running_scheduler(kafka, dsn, clock):
        await io.produce(topics.CANCEL, cancel)
        result = await result_of(io, cancel)
        await io.produce(topics.USER, *late)
        await states_become(dsn, {copy.user_id: "cancelled" for copy in late})
        released = await due_users_after_sentinel(io, clock)

    assert (result.outcome, result.dropped, result.released) == ("cancelled", 0, 0)
    assert not {copy.user_id for copy in late} & released
    assert await stages_of(io, campaign, 2) == sorted((c.user_id, "cancelled") for c in late)


@dataclass
class Senders:
    """Ingest as two apps see it: HTTP with their keys, Kafka with their intake keys."""

    api: httpx.AsyncClient
    other_app: httpx.AsyncClient
    intake: dict[str, IntakeKey]


@pytest.fixture
async def ingest_api(kafka: KafkaSettings, dsn: str) -> AsyncIterator[Senders]:
    key, other_key = new_api_key(), new_api_key()
    settings = IngestSettings(
        **kafka.model_dump(),
        database_dsn=SecretStr(dsn),
        secrets_keys=[SecretStr(new_secrets_key())],
        http_port=free_port(),
        api_keys={APP: [key_digest(key)], OTHER_APP: [key_digest(other_key)]},
    )
    intake = await announce_intake_keys(kafka, SecretBox(settings), APP, OTHER_APP)
    base_url = f"http://127.0.0.1:{settings.http_port}"
    async with (
        running(await build_ingest(settings, FrozenClock())),
        httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {key}"}) as api,
        httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {other_key}"}
        ) as other_app,
    ):
        yield Senders(api, other_app, intake)


async def test_http_cancel_answers_with_what_the_scheduler_did(
    kafka: KafkaSettings, dsn: str, ingest_api: Senders
) -> None:
    api, other_app = ingest_api.api, ingest_api.other_app
    clock = FrozenClock()
    held_users, sent_user = [unique("held"), unique("held")], unique("sent")

    async with running_scheduler(kafka, dsn, clock):
        later = await api.post(
            "/v1/notifications",
            json={
                "idempotency_key": unique("later"),
                "audience": {"user_ids": held_users},
                "content": {"title": "Tomorrow"},
                "schedule": {"send_at": (clock.now() + timedelta(days=1)).isoformat()},
            },
        )
        now = await api.post(
            "/v1/notifications",
            json={
                "idempotency_key": unique("now"),
                "audience": {"user_ids": [sent_user]},
                "content": {"title": "Now"},
            },
        )
        await states_become(dsn, {**dict.fromkeys(held_users, "held"), sent_user: "released"})
        later_id, now_id = later.json()["notification_id"], now.json()["notification_id"]

        cancelled = await api.post(f"/v1/notifications/{later_id}/cancel")
        too_late = await api.post(f"/v1/notifications/{now_id}/cancel")
        not_theirs = await other_app.post(f"/v1/notifications/{later_id}/cancel")
        unknown = await api.post(f"/v1/notifications/{uuid.uuid4()}/cancel")

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json() == {
        "notification_id": later_id,
        "status": "cancelled",
        "dropped": 2,
        "released": 0,
    }
    assert too_late.status_code == 409
    assert too_late.json()["error"]["code"] == "too_late"
    assert "already sent to 1 user" in too_late.json()["error"]["message"]
    assert not_theirs.status_code == 404
    assert unknown.status_code == 404


async def test_a_kafka_cancel_by_idempotency_key_stops_only_the_senders_own_notification(
    kafka: KafkaSettings, dsn: str, ingest_api: Senders
) -> None:
    clock = FrozenClock()
    held_users, key = [unique("held"), unique("held")], unique("later")

    def cancel(app_id: str) -> NotificationCancelRequested:
        return NotificationCancelRequested(
            event_id=uuid.uuid4(), app_id=app_id, occurred_at=clock.now(), idempotency_key=key
        )

    async with running_scheduler(kafka, dsn, clock):
        later = await ingest_api.api.post(
            "/v1/notifications",
            json={
                "idempotency_key": key,
                "audience": {"user_ids": held_users},
                "content": {"title": "Tomorrow"},
                "schedule": {"send_at": (clock.now() + timedelta(days=1)).isoformat()},
            },
        )
        await states_become(dsn, dict.fromkeys(held_users, "held"))
        theirs, mine = cancel(OTHER_APP), cancel(APP)
        await TopicIO(kafka, ingest_api.intake[OTHER_APP].signer).produce(
            topics.CANCEL_REQUESTED, theirs
        )
        their_result = await result_of_request(TopicIO(kafka), theirs.event_id)
        still = await copy_states(dsn)
        await TopicIO(kafka, ingest_api.intake[APP].signer).produce(topics.CANCEL_REQUESTED, mine)
        my_result = await result_of_request(TopicIO(kafka), mine.event_id)

    assert (their_result.outcome, their_result.dropped) == ("cancelled", 0)
    assert str(their_result.notification_id) != later.json()["notification_id"]
    assert [still[user] for user in held_users] == ["held", "held"]
    assert str(my_result.notification_id) == later.json()["notification_id"]
    assert (my_result.outcome, my_result.dropped, my_result.released) == ("cancelled", 2, 0)
