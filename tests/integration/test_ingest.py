"""Ingest against the real broker and PostgreSQL: HTTP and Kafka intake, dedupe, rejections."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from contracts import topics
from contracts.base import HERALD_NAMESPACE
from contracts.codec import encode
from contracts.notifications import NotificationRejected, UserNotification
from contracts.schedule import NotificationCancelRequested
from services.ingest.app import build
from services.ingest.settings import IngestSettings
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.ports import free_port
from shared.embedded.postgres import EmbeddedPostgres
from shared.secrets import SecretBox, new_secrets_key
from shared.settings import KafkaSettings
from shared.tenancy.auth import key_digest, new_api_key
from tests.support.clock import FrozenClock
from tests.support.factories import submitted, unique
from tests.support.intake import IntakeKey, announce_intake_keys
from tests.support.kafka import TopicIO, kafka_settings_for_test
from tests.support.services import running

pytestmark = pytest.mark.integration

APP = "testapp"
OTHER_APP = "otherapp"


class Stack:
    """Ingest as the test app sees it: HTTP with its key, topics written with its intake key."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        kafka: KafkaSettings,
        intake: dict[str, IntakeKey],
        clock: FrozenClock,
    ) -> None:
        self.client = client
        self.kafka = kafka
        self.intake = intake
        self.io = TopicIO(kafka, intake[APP].signer)
        self.clock = clock

    def io_signed_by(self, app_id: str) -> TopicIO:
        return TopicIO(self.kafka, self.intake[app_id].signer)


@pytest.fixture
async def ingest(broker: EmbeddedBroker, postgres: EmbeddedPostgres) -> AsyncIterator[Stack]:
    key = new_api_key()
    kafka = kafka_settings_for_test(broker.bootstrap)
    settings = IngestSettings(
        **kafka.model_dump(),
        database_dsn=SecretStr(postgres.dsn),
        secrets_keys=[SecretStr(new_secrets_key())],
        http_port=free_port(),
        api_keys={APP: [key_digest(key)], OTHER_APP: [key_digest(new_api_key())]},
    )
    intake = await announce_intake_keys(kafka, SecretBox(settings), APP, OTHER_APP)
    clock = FrozenClock()
    async with (
        running(await build(settings, clock)),
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{settings.http_port}",
            headers={"Authorization": f"Bearer {key}"},
        ) as client,
    ):
        yield Stack(client, kafka, intake, clock)


def has_steps_of(*answers: httpx.Response) -> Callable[[list[Any]], bool]:
    """Whether the trace read so far holds a step of each notification these HTTP sends named."""
    wanted = {answer.json()["notification_id"] for answer in answers}
    return lambda found: wanted <= {str(step.notification_id) for step in found}


def send_body(users: list[str], key: str | None = None, **content: object) -> dict[str, Any]:
    return {
        "idempotency_key": key or unique("key"),
        "audience": {"user_ids": users},
        "content": content or {"title": "Hi", "body": "There"},
    }


async def test_http_send_expands_to_one_event_per_user(ingest: Stack) -> None:
    response = await ingest.client.post("/v1/notifications", json=send_body(["ann", "bob"]))

    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["recipients"] == 2
    events = await ingest.io.read(topics.USER, until=lambda found: len(found) >= 2)
    assert {e.user_id for e in events} == {"ann", "bob"}
    assert all(str(e.notification_id) == accepted["notification_id"] for e in events)
    assert all(isinstance(e, UserNotification) and e.app_id == APP for e in events)


async def test_replay_returns_first_answer_and_publishes_nothing_more(ingest: Stack) -> None:
    body = send_body(["carol"])
    first = await ingest.client.post("/v1/notifications", json=body)
    again = await ingest.client.post("/v1/notifications", json=body)
    sentinel = await ingest.client.post("/v1/notifications", json=send_body(["sentinel"]))

    assert again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert sentinel.status_code == 202
    events = await ingest.io.read(
        topics.USER, until=lambda found: any(e.user_id == "sentinel" for e in found)
    )
    assert [e.user_id for e in events].count("carol") == 1
    steps = await ingest.io.read(topics.TRACE, until=has_steps_of(first, sentinel))
    [accepted] = [s for s in steps if str(s.notification_id) == first.json()["notification_id"]]
    assert (accepted.stage, accepted.app_id, accepted.user_id) == ("accepted", APP, None)
    assert (accepted.idempotency_key, accepted.users) == (body["idempotency_key"], 1)
    assert (accepted.content.title, accepted.content.body) == ("Hi", "There")
    assert accepted.category is None


async def test_same_key_different_body_is_a_conflict(ingest: Stack) -> None:
    key = unique("key")
    await ingest.client.post("/v1/notifications", json=send_body(["dan"], key))

    response = await ingest.client.post(
        "/v1/notifications", json=send_body(["dan"], key, title="Changed")
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"


async def test_limits_are_refused_naming_the_field(ingest: Stack) -> None:
    too_long = await ingest.client.post(
        "/v1/notifications", json=send_body(["eve"], title="x" * 300)
    )
    too_big = await ingest.client.post(
        "/v1/notifications",
        json=send_body(["eve"], title="t", data={f"k{i}": "v" * 200 for i in range(30)}),
    )

    assert too_long.status_code == 422
    assert too_long.json()["error"]["field"] == "content.title"
    assert "256" in too_long.json()["error"]["message"]
    assert too_big.status_code == 422
    assert too_big.json()["error"]["field"] == "content"
    assert "4000 bytes" in too_big.json()["error"]["message"]


async def test_requests_without_a_valid_key_are_refused(ingest: Stack) -> None:
    no_key = await ingest.client.post(
        "/v1/notifications", json=send_body(["x"]), headers={"Authorization": ""}
    )
    bad_key = await ingest.client.post(
        "/v1/notifications", json=send_body(["x"]), headers={"Authorization": "Bearer nope"}
    )

    assert no_key.status_code == 401
    assert bad_key.status_code == 401
    assert bad_key.headers["WWW-Authenticate"] == "Bearer"


async def test_kafka_intake_rejects_malformed_events_and_keeps_going(ingest: Stack) -> None:
    now = ingest.clock.now()
    good = submitted(now, ["frank"], app_id=APP)
    missing_field = json.loads(encode(submitted(now, ["x"], app_id=APP)))
    del missing_field["audience"]
    future_version = json.loads(encode(submitted(now, ["x"], app_id=APP)))
    future_version["version"] = 9
    await ingest.io.produce_raw(
        topics.SUBMITTED,
        (b"k1", b"{not json"),
        (b"k2", json.dumps(future_version).encode()),
        (b"k3", json.dumps(missing_field).encode()),
        (b"k4", encode(submitted(now, ["x"], app_id="nosuchapp"))),
        (b"k5", encode(good)),
    )

    rejected = await ingest.io.read(topics.REJECTED, until=lambda found: len(found) >= 4)
    events = await ingest.io.read(
        topics.USER, until=lambda found: any(e.user_id == "frank" for e in found)
    )

    reasons = {r.source.key: r.reason for r in rejected if isinstance(r, NotificationRejected)}
    assert "not valid JSON" in reasons[b"k1"]
    assert "version: 9 is not supported" in reasons[b"k2"]
    assert "audience: Field required" in reasons[b"k3"]
    assert "unknown app 'nosuchapp'" in reasons[b"k4"]
    originals = {r.source.key: r.source.value for r in rejected}
    assert originals[b"k1"] == b"{not json"
    assert [e.notification_id for e in events if e.user_id == "frank"]


async def test_kafka_and_http_share_one_idempotency_ledger(ingest: Stack) -> None:
    key = unique("key")
    event = submitted(ingest.clock.now(), ["gina"], app_id=APP, idempotency_key=key)
    await ingest.io.produce(topics.SUBMITTED, event)
    await ingest.io.read(topics.USER, until=lambda found: any(e.user_id == "gina" for e in found))

    replay = await ingest.client.post(
        "/v1/notifications",
        json={
            "idempotency_key": key,
            "audience": {"user_ids": ["gina"]},
            "content": {"title": "Hello", "body": "World"},
        },
    )

    assert replay.status_code == 202
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert uuid.UUID(replay.json()["notification_id"])
    sentinel = await ingest.client.post("/v1/notifications", json=send_body(["sentinel"]))
    steps = await ingest.io.read(topics.TRACE, until=has_steps_of(replay, sentinel))
    # Trace steps are published at least once: a batch redelivered (a rebalance under load) sends
    # its step again under the same derived id, which readers count once.
    [accepted] = {s.event_id: s for s in steps if s.idempotency_key == key}.values()
    assert str(accepted.notification_id) == replay.json()["notification_id"]
    assert (accepted.stage, accepted.users) == ("accepted", 1)


async def test_identical_sends_at_once_are_all_answered_with_one_notification(
    ingest: Stack,
) -> None:
    bodies = [send_body([f"u{n}"]) for n in range(30)]

    answers = await asyncio.gather(
        *(
            ingest.client.post("/v1/notifications", json=body, timeout=120)
            for body in bodies
            for _ in range(10)
        )
    )

    assert sorted({a.status_code for a in answers}) == [202], {a.text for a in answers}
    for n, body in enumerate(bodies):
        ids = {a.json()["notification_id"] for a in answers[n * 10 : n * 10 + 10]}
        first = [a for a in answers[n * 10 : n * 10 + 10] if "Idempotent-Replayed" not in a.headers]
        assert len(ids) == 1, body
        assert len(first) == 1, body


async def test_kafka_records_count_only_when_signed_by_an_intake_key_of_their_app(
    ingest: Stack,
) -> None:
    now = ingest.clock.now()
    unsigned = submitted(now, ["hal"], app_id=APP)
    as_another_app = submitted(now, ["ida"], app_id=OTHER_APP)
    altered = submitted(now, ["jon"], app_id=APP)
    good = submitted(now, ["kim"], app_id=APP)
    await TopicIO(ingest.kafka).produce_raw(topics.SUBMITTED, (b"unsigned", encode(unsigned)))
    await ingest.io.produce_raw(topics.SUBMITTED, (b"forged", encode(as_another_app)))
    signature = ingest.intake[APP].signer(encode(altered))
    await TopicIO(ingest.kafka).produce_raw(
        topics.SUBMITTED,
        (b"altered", encode(altered).replace(b"jon", b"joe")),
        headers=[(name, value.encode()) for name, value in signature.items()],
    )
    await ingest.io.produce(topics.SUBMITTED, good)

    rejected = await ingest.io.read(topics.REJECTED, until=lambda found: len(found) >= 3)
    events = await ingest.io.read(
        topics.USER, until=lambda found: any(e.user_id == "kim" for e in found)
    )

    reasons = {r.source.key: r.reason for r in rejected}
    assert "herald-signature: the record is not signed" in reasons[b"unsigned"]
    assert f"is not an intake key of app '{OTHER_APP}'" in reasons[b"forged"]
    assert "does not match the record's value" in reasons[b"altered"]
    assert not {"hal", "ida", "jon", "joe"} & {e.user_id for e in events}


async def test_notification_ids_are_keyed_per_deployment_and_app(ingest: Stack) -> None:
    key = unique("key")

    first = await ingest.client.post("/v1/notifications", json=send_body(["lee"], key))

    notification = uuid.UUID(first.json()["notification_id"])
    assert notification != uuid.uuid5(HERALD_NAMESPACE, f"notification/{APP}/{key}")
    assert notification.version == 8


async def test_a_kafka_cancel_names_only_the_senders_own_notifications(ingest: Stack) -> None:
    key = unique("key")
    sent = await ingest.client.post("/v1/notifications", json=send_body(["mia"], key))
    notification = uuid.UUID(sent.json()["notification_id"])
    now = ingest.clock.now()

    def cancel(app_id: str, **name: object) -> NotificationCancelRequested:
        return NotificationCancelRequested.model_validate(
            {"event_id": uuid.uuid4(), "app_id": app_id, "occurred_at": now, **name}
        )

    theirs_by_key = cancel(OTHER_APP, idempotency_key=key)
    theirs_by_id = cancel(OTHER_APP, notification_id=notification)
    forged = cancel(APP, idempotency_key=key)
    mine = cancel(APP, idempotency_key=key)
    mine_by_id = cancel(APP, notification_id=notification)
    await ingest.io_signed_by(OTHER_APP).produce(topics.CANCEL_REQUESTED, theirs_by_key)
    await ingest.io_signed_by(OTHER_APP).produce(topics.CANCEL_REQUESTED, theirs_by_id)
    await TopicIO(ingest.kafka).produce(topics.CANCEL_REQUESTED, forged)
    await ingest.io.produce(topics.CANCEL_REQUESTED, mine, mine_by_id)

    cancels = await ingest.io.read(
        topics.CANCEL,
        until=lambda found: {mine.event_id, mine_by_id.event_id} <= {c.event_id for c in found},
    )
    rejected = await ingest.io.read(topics.REJECTED, until=lambda found: len(found) >= 2)

    targets = {c.event_id: (c.app_id, c.notification_id) for c in cancels}
    assert targets[mine.event_id] == (APP, notification)
    assert targets[mine_by_id.event_id] == (APP, notification)
    assert targets[theirs_by_key.event_id][0] == OTHER_APP
    assert targets[theirs_by_key.event_id][1] != notification
    assert theirs_by_id.event_id not in targets
    assert forged.event_id not in targets
    reasons = {r.app_id: r.reason for r in rejected}
    assert f"no notification {notification} in app '{OTHER_APP}'" in reasons[OTHER_APP]
    assert "not signed" in reasons[APP]
