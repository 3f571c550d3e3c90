"""Streamed audiences on the real broker and PostgreSQL: pages of matching devices become per-user
events restricted to those devices, a stream cut short resumes after its last page with the same
ids (a finished one publishes nothing), and the fan-out honours the restriction; segments,
conditions and ``all`` match exactly their devices; audiences stream in turns, so a small one
behind a big one of another app is out before the big one; the topics and tags API refuses what
breaks a limit, naming the field."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiokafka.partitioner import DefaultPartitioner
from pydantic import SecretStr

from contracts import topics
from contracts.audiences import Audience
from contracts.base import derived_id
from contracts.notifications import NotificationAudience, UserNotification
from contracts.push import PushRequest
from contracts.trace import NotificationTraced
from services.registry.app import MIGRATIONS, SCHEMA
from services.registry.audiences import matching
from services.registry.audiences.domain import Match, Progress, merged_tags
from services.registry.audiences.store import AudienceStore
from services.registry.audiences.streaming import AudienceHandler
from services.registry.devices.domain import Registration
from services.registry.devices.store import DeviceStore
from services.registry.preferences.store import Choices, PreferenceStore
from shared.db import create_pool, migrate, transaction
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.postgres import EmbeddedPostgres
from shared.settings import DatabaseSettings
from tests.support.factories import apns_token, unique
from tests.support.publisher import RecordingPublisher
from tests.support.registry import (
    APP,
    OTHER_APP,
    RunningRegistry,
    counted,
    eventually,
    fcm_token,
    running_registry,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def registry(
    broker: EmbeddedBroker, postgres: EmbeddedPostgres
) -> AsyncIterator[RunningRegistry]:
    """A registry streaming two users a page and one page a turn, with small topic and tag
    limits (the tests share it: each reads only what its own unique names produced)."""
    async with running_registry(
        broker.bootstrap,
        postgres.dsn,
        audience_page_users=2,
        audience_pages_per_turn=1,
        max_topics_per_device=3,
        max_topics_per_user=2,
        max_tags=2,
    ) as running:
        yield running


@pytest.fixture(scope="module")
async def pool(postgres: EmbeddedPostgres) -> AsyncIterator[asyncpg.Pool]:
    """The registry's schema, migrated, for tests that page through audiences directly."""
    created = await create_pool(DatabaseSettings(database_dsn=SecretStr(postgres.dsn)), SCHEMA)
    await migrate(created, SCHEMA, MIGRATIONS)
    yield created
    await created.close()


async def register(registry: RunningRegistry, user_id: str) -> str:
    reply = await registry.api.post(
        "/v1/devices", json={"user_id": user_id, "platform": "fcm", "token": fcm_token()}
    )
    assert reply.status_code == 201, reply.text
    return str(reply.json()["device_id"])


def audience_event(now: datetime, audience: dict[str, Any]) -> NotificationAudience:
    return NotificationAudience.model_validate(
        {
            "event_id": uuid.uuid4(),
            "app_id": APP,
            "occurred_at": now,
            "notification_id": uuid.uuid4(),
            "audience": audience,
            "content": {"title": "Goal!"},
            "accepted_at": now,
        }
    )


async def test_a_topic_streams_page_by_page_to_the_subscribed_devices_of_each_user_once(
    registry: RunningRegistry, pool: asyncpg.Pool
) -> None:
    topic = unique("sports")
    subscribed: dict[str, list[str]] = {}
    for index in range(5):
        user = unique(f"fan{index}")
        devices = [await register(registry, user) for _ in range(2 if index < 2 else 1)]
        subscribed[user] = devices[: 2 if index == 0 else 1]
        for device in subscribed[user]:
            reply = await registry.api.post(
                f"/v1/devices/{device}/topics", json={"subscribe": [topic, "other"]}
            )
            assert reply.status_code == 200, reply.text
    outsider = await register(registry, unique("outsider"))
    await registry.other_app_api.post(
        "/v1/devices",
        json={"user_id": unique("elsewhere"), "platform": "fcm", "token": fcm_token()},
    )
    send = audience_event(registry.clock.now(), {"topic": topic})
    store = AudienceStore(pool)

    await registry.io.produce(topics.AUDIENCE, send)
    first = await registry.io.read(topics.USER, until=lambda found: len(found) >= 5)

    assert {event.user_id: event.device_ids for event in first} == {
        user: sorted(uuid.UUID(device) for device in devices)
        for user, devices in subscribed.items()
    }
    for event in first:
        assert event.event_id == derived_id(send.notification_id, event.user_id)
        assert (event.notification_id, event.content) == (send.notification_id, send.content)
    assert uuid.UUID(outsider) not in {d for e in first for d in e.device_ids or ()}

    async def finished() -> bool:
        return (await store.progress(send.notification_id)).finished

    await eventually(finished)
    assert await store.progress(send.notification_id) == Progress(
        max(subscribed), 5, 6, finished=True
    )
    [targeted] = [
        step
        for step in await registry.io.read(topics.TRACE, until=lambda found: len(found) >= 1)
        if isinstance(step, NotificationTraced) and step.notification_id == send.notification_id
    ]
    assert (targeted.stage, targeted.users, targeted.user_id) == ("targeted", 5, None)
    again = RecordingPublisher()
    handler = AudienceHandler(store, again, registry.clock, page_users=2, pages_per_turn=10)
    await handler.take_turn(send)
    assert again.published == []

    cut_after = sorted(subscribed)[1]
    await pool.execute(
        "UPDATE audience_streams SET after_user_id = $2, users = 2, devices = 3,"
        " finished_at = NULL WHERE notification_id = $1",
        send.notification_id,
        cut_after,
    )
    await handler.take_turn(send)
    resumed = [event for event in again.on(topics.USER) if isinstance(event, UserNotification)]
    assert [event.event_id for event in resumed] == [
        event.event_id for event in sorted(first, key=lambda e: e.user_id)[2:]
    ]
    assert (await store.progress(send.notification_id)).finished

    fan = next(user for user, devices in subscribed.items() if len(devices) == 1)
    [kept] = subscribed[fan]
    restricted = counted(registry.clock.now(), fan, device_ids=[kept])
    everywhere = counted(registry.clock.now(), fan)
    await registry.io.produce(topics.COUNTED, restricted, everywhere)

    def marker_everywhere(found: list[PushRequest]) -> bool:
        return sum(push.notification_id == everywhere.notification_id for push in found) == 2

    pushes = await registry.io.read(topics.PUSH["fcm"], until=marker_everywhere)
    assert [
        str(push.device_id) for push in pushes if push.notification_id == restricted.notification_id
    ] == [kept]


async def test_an_audience_streams_a_turn_of_pages_then_goes_back_to_the_end_of_the_topic(
    registry: RunningRegistry, pool: asyncpg.Pool
) -> None:
    topic = unique("turns")
    for index in range(3):
        device = await register(registry, unique(f"fan{index}"))
        await registry.api.post(f"/v1/devices/{device}/topics", json={"subscribe": [topic]})
    send = audience_event(registry.clock.now(), {"topic": topic})
    out = RecordingPublisher()
    handler = AudienceHandler(
        AudienceStore(pool), out, registry.clock, page_users=1, pages_per_turn=2
    )

    first = await handler.take_turn(send)
    after_first = list(out.published)
    last = await handler.take_turn(send)

    assert [(sent_to.name, type(message)) for sent_to, message in after_first] == [
        (topics.USER.name, UserNotification),
        (topics.USER.name, UserNotification),
        (topics.AUDIENCE.name, NotificationAudience),
    ]
    assert after_first[-1][1] == send
    assert (first.users, first.finished) == (2, False)
    assert (last.users, last.finished) == (3, True)
    assert [sent_to.name for sent_to, _ in out.published[3:]] == [
        topics.USER.name,
        topics.TRACE.name,
    ]


def behind(ahead: NotificationAudience, audience: NotificationAudience) -> NotificationAudience:
    """``audience`` for the other app, under a notification id that puts it on the partition of
    ``ahead``: produced after it, it waits behind it (the stream's order does not then depend on
    which partition the consumer happens to fetch first)."""
    partitions = list(range(topics.AUDIENCE.partitions))

    def partition(event: NotificationAudience) -> int:
        found: int = DefaultPartitioner()(topics.AUDIENCE.key_of(event), partitions, partitions)
        return found

    while True:
        moved = audience.model_copy(update={"app_id": OTHER_APP, "notification_id": uuid.uuid4()})
        if partition(moved) == partition(ahead):
            return moved


async def test_a_small_audience_of_another_app_is_out_before_a_big_one_ahead_of_it(
    registry: RunningRegistry, pool: asyncpg.Pool
) -> None:
    big_topic, small_topic = unique("big"), unique("small")
    # Fifteen turns of the big audience: while the test polls for the small one, the big one's
    # remaining turns (each a round trip through the broker) cannot all go by.
    for index in range(30):
        device = await register(registry, unique(f"fan{index}"))
        await registry.api.post(f"/v1/devices/{device}/topics", json={"subscribe": [big_topic]})
    other = await registry.other_app_api.post(
        "/v1/devices",
        json={"user_id": unique("reader"), "platform": "fcm", "token": fcm_token()},
    )
    await registry.other_app_api.post(
        f"/v1/devices/{other.json()['device_id']}/topics", json={"subscribe": [small_topic]}
    )
    big = audience_event(registry.clock.now(), {"topic": big_topic})
    small = behind(big, audience_event(registry.clock.now(), {"topic": small_topic}))
    store = AudienceStore(pool)

    await registry.io.produce(topics.AUDIENCE, big, small)

    async def small_finished() -> bool:
        return (await store.progress(small.notification_id)).finished

    await eventually(small_finished)
    big_then = await store.progress(big.notification_id)

    async def big_finished() -> bool:
        return (await store.progress(big.notification_id)).finished

    await eventually(big_finished)
    assert not big_then.finished, "the small audience waited for the whole big one"
    assert (await store.progress(big.notification_id)).users == 30


async def test_segments_conditions_and_all_match_exactly_their_devices(
    pool: asyncpg.Pool,
) -> None:
    app = unique("app").lower()
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    devices, audiences = DeviceStore(pool), AudienceStore(pool)

    async def device(user: str, platform: str = "fcm", days_ago: int = 0, **fields: Any) -> str:
        token = apns_token() if platform == "apns" else fcm_token()
        registration = Registration(app, user, platform, token, **fields)  # type: ignore[arg-type]
        registered = await devices.register(registration, now - timedelta(days=days_ago))
        return f"{user}/{registered.device.device_id}"

    ana = await device("ana", locale="pt-BR", app_version="2.10.1", time_zone="America/Sao_Paulo")
    ana_old = await device("ana", days_ago=40, locale="pt_PT", app_version="2.9")
    bo = await device("bo", "apns", locale="fr-FR", app_version="beta-3", time_zone="Europe/Paris")
    cy = await device("cy", "apns", locale="en", app_version="3.0", time_zone="Europe/Paris")
    async with transaction(pool) as conn:
        await PreferenceStore(pool).replace(conn, app, "cy", "Asia/Tokyo", None, Choices(), now)
    await audiences.change_user_tags(
        app, "bo", lambda tags: merged_tags(tags, {"tier": "gold"}, 5, "user"), now
    )
    await audiences.change_device_tags(
        uuid.UUID(cy.split("/")[1]),
        lambda tags: merged_tags(tags, {"model": "x", "tier": "gold"}, 5, "device"),
        now,
    )
    for found, names in ((ana, ["a", "b"]), (bo, ["a", "c"]), (cy, ["b"])):
        await audiences.change_topics(uuid.UUID(found.split("/")[1]), names, [], now, limit=10)
    await audiences.change_user_topics(app, "ana", ["b"], [], now, limit=10)
    await audiences.change_user_topics(app, "dee", ["c"], [], now, limit=10)
    dee = await device("dee", days_ago=1, locale="pt-BR")
    await devices.unregister(app, uuid.UUID((await device("eve")).split("/")[1]), "gone", now)

    async def matched(audience: dict[str, Any]) -> set[str]:
        match = matching.predicate(Audience.model_validate(audience), now)
        found: list[Match] = []
        after = ""
        while page := await audiences.page(app, match, after=after, users=1):
            found.extend(page)
            after = page[-1].user_id
        assert len(found) == len(set(found)), "a device matched twice"
        return {f"{m.user_id}/{m.device_id}" for m in found}

    assert await matched({"all": True}) == {ana, ana_old, bo, cy, dee}
    assert await matched({"topic": "a"}) == {ana, bo}
    assert await matched({"topic": "b"}) == {ana, ana_old, cy}
    assert await matched({"topic": "c"}) == {bo, dee}
    assert await matched({"condition": "'a' && ('b' || 'c')"}) == {ana, bo}
    assert await matched({"condition": "'b' || 'c'"}) == {ana, ana_old, bo, cy, dee}
    assert await matched({"condition": "'a' && 'b' && 'c'"}) == set()
    assert await matched({"segment": {"platforms": ["apns"]}}) == {bo, cy}
    assert await matched({"segment": {"locales": ["pt"]}}) == {ana, ana_old, dee}
    assert await matched({"segment": {"locales": ["pt-br", "en"]}}) == {ana, cy, dee}
    assert await matched({"segment": {"app_versions": ["beta-3", "2.9"]}}) == {bo, ana_old}
    assert await matched({"segment": {"min_app_version": "2.10"}}) == {ana, cy}
    assert await matched({"segment": {"time_zones": ["Europe/Paris"]}}) == {bo}
    assert await matched({"segment": {"time_zones": ["Asia/Tokyo"]}}) == {cy}
    assert await matched({"segment": {"last_seen_within_days": 30}}) == {ana, bo, cy, dee}
    assert await matched({"segment": {"user_tags": {"tier": "gold"}}}) == {bo}
    assert await matched({"segment": {"device_tags": {"tier": "gold"}}}) == {cy}
    assert await matched(
        {"segment": {"platforms": ["fcm"], "locales": ["pt"], "last_seen_within_days": 30}}
    ) == {ana, dee}
    one_device = cy.split("/")[1]
    assert await matched({"device_ids": [one_device, str(uuid.uuid4())]}) == {cy}


async def test_topics_and_tags_refuse_what_breaks_a_limit_naming_the_field(
    registry: RunningRegistry,
) -> None:
    user = unique("user")
    device = await register(registry, user)
    path = f"/v1/devices/{device}/topics"

    async with registry.as_user(user) as own, registry.as_user(unique("stranger")) as stranger:
        mine = await own.post(path, json={"subscribe": ["a", "b", "c"], "unsubscribe": ["c"]})
        not_theirs = await stranger.post(path, json={"subscribe": ["a"]})
        user_sets_tags = await own.patch(f"/v1/devices/{device}/tags", json={"tags": {"k": "v"}})
    too_many = await registry.api.post(path, json={"subscribe": ["d", "e"]})
    bad_name = await registry.api.post(path, json={"subscribe": ["no spaces"]})
    misspelt = await registry.api.post(path, json={"subscribe": ["x"], "unsubscibe": ["a"]})
    other_app = await registry.other_app_api.get(path)
    tags = await registry.api.patch(f"/v1/users/{user}/tags", json={"tags": {"a": "1", "b": "2"}})
    swapped = await registry.api.patch(
        f"/v1/users/{user}/tags", json={"tags": {"a": None, "c": "3"}}
    )
    tag_cap = await registry.api.patch(f"/v1/users/{user}/tags", json={"tags": {"d": "4"}})
    user_path = f"/v1/users/{user}/topics"
    async with registry.as_user(user) as own, registry.as_user(unique("stranger")) as stranger:
        own_topics = await own.post(user_path, json={"subscribe": ["a", "b"]})
        not_their_user = await stranger.post(user_path, json={"subscribe": ["a"]})
        not_their_list = await stranger.get(user_path)
    user_cap = await registry.api.post(user_path, json={"subscribe": ["c"]})
    user_bad_name = await registry.api.post(user_path, json={"subscribe": ["a b"]})
    other_app_user = await registry.other_app_api.get(user_path)

    assert (mine.status_code, mine.json()["topics"]) == (200, ["a", "b"])
    assert not_theirs.status_code == 404
    assert user_sets_tags.status_code == 403
    assert too_many.status_code == 422
    assert too_many.json()["error"]["field"] == "subscribe"
    assert "4 topics; the limit is 3 per device" in too_many.json()["error"]["message"]
    assert (await registry.api.get(path)).json()["topics"] == ["a", "b"]
    assert bad_name.json()["error"]["field"] == "subscribe.0"
    assert misspelt.json()["error"]["field"] == "unsubscibe"
    assert "did you mean 'unsubscribe'?" in misspelt.json()["error"]["message"]
    assert other_app.status_code == 404
    assert tags.json() == {"tags": {"a": "1", "b": "2"}}
    assert swapped.json() == {"tags": {"b": "2", "c": "3"}}
    assert tag_cap.status_code == 422
    assert tag_cap.json()["error"]["field"] == "tags"
    assert "3 tags; the limit is 2 per user" in tag_cap.json()["error"]["message"]
    assert (await registry.api.get(f"/v1/users/{user}/tags")).json() == swapped.json()
    assert own_topics.json() == {"user_id": user, "topics": ["a", "b"]}
    assert (not_their_user.status_code, not_their_list.status_code) == (404, 404)
    assert user_cap.status_code == 422
    assert user_cap.json()["error"]["field"] == "subscribe"
    assert (
        "3 topics; the limit is 2 per user (HERALD_MAX_TOPICS_PER_USER)"
        in (user_cap.json()["error"]["message"])
    )
    assert user_bad_name.json()["error"]["field"] == "subscribe.0"
    assert other_app_user.json() == {"user_id": user, "topics": []}
    assert (await registry.api.get(user_path)).json()["topics"] == ["a", "b"]


async def test_recorded_progress_never_moves_back_nor_unfinishes(pool: asyncpg.Pool) -> None:
    """Two replicas may briefly stream one audience after a rebalance: the slower one's older
    progress must not send the stream back over pages already out, nor reopen a finished one."""
    store = AudienceStore(pool)
    notification_id, now = uuid.uuid4(), datetime.now(UTC)
    await store.advance(APP, notification_id, Progress("u4", 4, 8, False), now)
    await store.advance(APP, notification_id, Progress("u2", 2, 4, False), now)
    assert await store.progress(notification_id) == Progress("u4", 4, 8, False)
    await store.advance(APP, notification_id, Progress("u6", 5, 10, True), now)
    await store.advance(APP, notification_id, Progress("u5", 5, 9, False), now)
    assert await store.progress(notification_id) == Progress("u6", 5, 10, True)
