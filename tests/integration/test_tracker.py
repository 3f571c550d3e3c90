"""The tracker against the real broker and PostgreSQL: trace steps and reads produced straight onto
their topics, out of order and repeated, come back as counts, timelines, an inbox and
``herald trace``, to the right callers only, until retention forgets them."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from pydantic import SecretStr

from contracts import topics
from contracts.badges import BadgeChanged
from contracts.content import Content
from contracts.trace import NotificationTraced, Stage
from services.registry.apps import cli
from services.tracker.app import SCHEMA, build
from services.tracker.settings import TrackerSettings
from services.tracker.store import TrackerStore
from shared.db import create_pool
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.ports import free_port
from shared.embedded.postgres import EmbeddedPostgres
from shared.retention import Pruner
from shared.tenancy.auth import issue_user_token, key_digest, new_api_key, new_signing_key
from tests.support.clock import FrozenClock
from tests.support.kafka import TopicIO, kafka_settings_for_test
from tests.support.registry import eventually
from tests.support.services import running

pytestmark = pytest.mark.integration

APP, OTHER_APP = "testapp", "otherapp"
CAROL = "org/carol"  # a user id with a slash: percent-encoded, it is one path segment


class Steps:
    """Steps of one notification of the test app, at minutes after ``start``."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.notification_id = uuid.uuid4()

    def __call__(
        self,
        stage: Stage,
        minute: float,
        user: str | None = None,
        device: uuid.UUID | None = None,
        **fields: Any,
    ) -> NotificationTraced:
        return NotificationTraced.step(
            stage,
            app_id=APP,
            notification_id=self.notification_id,
            occurred_at=self.start + timedelta(minutes=minute),
            user_id=user,
            device_id=device,
            **fields,
        )


def read_by_id(at: datetime, user: str, *notification_ids: uuid.UUID) -> BadgeChanged:
    return BadgeChanged(
        event_id=uuid.uuid4(),
        app_id=APP,
        occurred_at=at,
        user_id=user,
        badge=0,
        badge_seq=2,
        read_notification_ids=list(notification_ids),
    )


async def test_timelines_counts_inbox_and_the_cli(
    broker: EmbeddedBroker,
    postgres: EmbeddedPostgres,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key, other_key, signing_key = new_api_key(), new_api_key(), new_signing_key()
    kafka = kafka_settings_for_test(broker.bootstrap)
    settings = TrackerSettings(
        **kafka.model_dump(),
        database_dsn=SecretStr(postgres.dsn),
        http_port=free_port(),
        api_keys={APP: [key_digest(key)], OTHER_APP: [key_digest(other_key)]},
        app_signing_keys={APP: [SecretStr(signing_key)]},
    )
    clock = FrozenClock()
    io = TopicIO(kafka)
    sale, later = Steps(clock.now()), Steps(clock.now() + timedelta(hours=1))
    phone, tablet = uuid.uuid4(), uuid.uuid4()
    sale_steps = [
        sale("accepted", 0, users=2, idempotency_key="sale-1", content=Content(title="Sale")),
        sale("released", 1, "alice"),
        sale("counted", 1, "alice", badge=1),
        sale("fanned_out", 2, "alice", devices={"fcm": 1, "apns": 1}),
        sale("sent", 3, "alice", phone, platform="fcm", outcome="delivered", attempt=1),
        sale("retry_scheduled", 3, "alice", tablet, platform="apns", attempt=1, reason="503"),
        sale(
            "sent",
            4,
            "alice",
            tablet,
            platform="apns",
            outcome="token_invalid",
            provider_status=410,
            reason="Unregistered",
            attempt=2,
        ),
        sale("token_deactivated", 4, "alice", tablet, platform="apns"),
        sale("opened", 9, "alice", phone, platform="fcm"),
        sale("held", 1, "bob", reason="quiet_hours", until=clock.now() + timedelta(hours=8)),
    ]
    shuffled = sale_steps * 2
    random.Random(7).shuffle(shuffled)
    held_long = Steps(clock.now())
    held_long_steps = [
        held_long("accepted", 0, users=1),
        held_long("held", 0, CAROL, reason="schedule", until=clock.now() + timedelta(days=40)),
    ]
    later_steps = [
        later("accepted", 0, users=1, content=Content(title="Later")),
        later("counted", 1, "alice", badge=2),
        later("counted", 1, CAROL, badge=1),
    ]

    def user_token(user: str) -> dict[str, str]:
        token = issue_user_token(
            APP, user, signing_key, now=datetime.now(UTC), lifetime=timedelta(minutes=5)
        )
        return {"Authorization": f"Bearer {token}"}

    as_app, as_other = {"Authorization": f"Bearer {key}"}, {"Authorization": f"Bearer {other_key}"}
    sale_path = f"/v1/notifications/{sale.notification_id}"
    carol = quote(CAROL, safe="")

    async with (
        running(await build(settings, clock)),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.http_port}") as http,
    ):
        # Reads first: the tracker must apply them to notifications that arrive afterwards.
        await io.produce(topics.BADGES, read_by_id(clock.now(), "alice", sale.notification_id))
        await io.produce(topics.TRACE, *held_long_steps, *shuffled, *later_steps)

        async def recorded() -> bool:
            inbox = await http.get("/v1/users/alice/notifications", headers=as_app)
            carol_inbox = await http.get(f"/v1/users/{carol}/notifications", headers=as_app)
            status = await http.get(sale_path, headers=as_app)
            held = await http.get(f"/v1/notifications/{held_long.notification_id}", headers=as_app)
            return (
                status.status_code == 200
                and held.status_code == 200
                and held.json()["counts"]["held"] == 1
                and status.json()["counts"]["opened"] == 1
                and status.json()["counts"]["held"] == 1
                and len(inbox.json()["notifications"]) == 2
                and carol_inbox.status_code == 200
                and len(carol_inbox.json()["notifications"]) == 1
            )

        await eventually(recorded, timeout=30)

        status = (await http.get(sale_path, headers=as_app)).json()
        carol_timeline = await http.get(
            f"/v1/notifications/{held_long.notification_id}/users/{carol}",
            headers=user_token(CAROL),
        )
        carol_inbox = await http.get(f"/v1/users/{carol}/notifications", headers=user_token(CAROL))
        alice = (await http.get(f"{sale_path}/users/alice", headers=user_token("alice"))).json()
        first_page = (
            await http.get("/v1/users/alice/notifications?limit=1", headers=user_token("alice"))
        ).json()
        second_page = (
            await http.get(
                "/v1/users/alice/notifications",
                params={"limit": 1, "cursor": first_page["next_cursor"]},
                headers=as_app,
            )
        ).json()
        by_key = await http.get(
            "/v1/notifications", params={"idempotency_key": "sale-1"}, headers=as_app
        )
        recent = (
            await http.get("/v1/notifications/recent", params={"limit": 3}, headers=as_app)
        ).json()["notifications"]
        recent_of_other = (await http.get("/v1/notifications/recent", headers=as_other)).json()[
            "notifications"
        ]
        refused = {
            "another app's key, by idempotency key": (
                await http.get(
                    "/v1/notifications", params={"idempotency_key": "sale-1"}, headers=as_other
                )
            ).status_code,
            "another app's key": (await http.get(sale_path, headers=as_other)).status_code,
            "another app's key, timeline": (
                await http.get(f"{sale_path}/users/alice", headers=as_other)
            ).status_code,
            "a user token, counts": (
                await http.get(sale_path, headers=user_token("alice"))
            ).status_code,
            "a user token, someone else": (
                await http.get(f"{sale_path}/users/bob", headers=user_token("alice"))
            ).status_code,
            "a user token, someone else's inbox": (
                await http.get("/v1/users/bob/notifications", headers=user_token("alice"))
            ).status_code,
            "no credential": (await http.get(sale_path)).status_code,
            "a made-up cursor": (
                await http.get(
                    "/v1/users/alice/notifications", params={"cursor": "bm9wZQ"}, headers=as_app
                )
            ).status_code,
        }

        tracker_url = f"http://127.0.0.1:{settings.http_port}"
        monkeypatch.setenv("HERALD_TRACKER_URL", tracker_url)
        monkeypatch.setenv("HERALD_KEY", key)
        capsys.readouterr()
        traced = await asyncio.to_thread(
            cli.main, ["trace", str(sale.notification_id), "--user", "alice"]
        )
        printed = capsys.readouterr().out
        monkeypatch.setenv("HERALD_KEY", other_key)
        refused_trace = await asyncio.to_thread(cli.main, ["trace", str(sale.notification_id)])
        refused_error = capsys.readouterr().err

    assert status["status"] == "held"  # alice is done, bob waits out his quiet hours
    assert status["idempotency_key"] == "sale-1"
    assert status["content"]["title"] == "Sale"
    assert [s["stage"] for s in status["steps"]] == ["accepted"]
    assert status["counts"] == {
        "users_targeted": 2,
        "devices_targeted": 2,
        "held": 1,
        "released": 1,
        "sent": 2,
        "delivered": 1,
        "failed": {"Unregistered": 1},
        "withheld": {},
        "expired": 0,
        "cancelled": 0,
        "no_device": 0,
        "token_deactivated": 1,
        "opened": 1,
        "open_rate": 1.0,
    }

    assert carol_timeline.status_code == 200, carol_timeline.text
    assert [s["stage"] for s in carol_timeline.json()["steps"]] == ["held"]
    assert carol_inbox.status_code == 200, carol_inbox.text
    assert [n["notification_id"] for n in carol_inbox.json()["notifications"]] == [
        str(later.notification_id)
    ]
    assert alice["status"] == "done"
    assert [s["stage"] for s in alice["steps"]] == ["released", "counted", "fanned_out"]
    devices = {d["device_id"]: d for d in alice["devices"]}
    assert devices[str(phone)]["outcome"] == "delivered"
    assert [s["stage"] for s in devices[str(phone)]["steps"]] == ["sent", "opened"]
    assert (devices[str(tablet)]["outcome"], devices[str(tablet)]["provider_status"]) == (
        "token_invalid",
        410,
    )
    assert [s["stage"] for s in devices[str(tablet)]["steps"]] == [
        "retry_scheduled",
        "sent",
        "token_deactivated",
    ]

    newest, older = first_page["notifications"][0], second_page["notifications"][0]
    assert (newest["notification_id"], newest["read"]) == (str(later.notification_id), False)
    assert newest["content"]["title"] == "Later"
    assert (older["notification_id"], older["read"]) == (str(sale.notification_id), True)
    assert second_page["next_cursor"] is None

    assert recent[0]["notification_id"] == str(later.notification_id)
    assert {n["notification_id"] for n in recent[1:]} == {
        str(sale.notification_id),
        str(held_long.notification_id),
    }
    assert next(n for n in recent if n["idempotency_key"] == "sale-1")["counts"] == status["counts"]
    assert recent_of_other == []
    assert by_key.status_code == 200, by_key.text
    assert by_key.json()["notification_id"] == str(sale.notification_id)
    assert by_key.json()["counts"] == status["counts"]
    assert refused == {
        "another app's key, by idempotency key": 404,
        "another app's key": 404,
        "another app's key, timeline": 404,
        "a user token, counts": 403,
        "a user token, someone else": 404,
        "a user token, someone else's inbox": 404,
        "no credential": 401,
        "a made-up cursor": 422,
    }

    assert traced == 0
    assert f"notification {sale.notification_id}: held" in printed
    assert "sent 2, delivered 1, token deactivated 1, opened 1 (open rate 100.0%)" in printed
    assert "failed: Unregistered 1" in printed
    assert "  accepted " in printed
    assert "user alice: done" in printed
    assert f"device {tablet} (apns): token_invalid (provider_status 410, reason Unregistered)" in (
        printed
    )
    assert refused_trace == 1
    assert "404" in refused_error

    pool = await create_pool(settings, SCHEMA)
    try:
        store = TrackerStore(pool)
        clock.advance(days=31)
        forgot = await Pruner(
            "timelines", store.prune, clock, timedelta(days=30), batch=3
        ).prune_once()
        assert forgot >= len(sale_steps) + len(later_steps)
        assert await store.own_steps_of(APP, sale.notification_id) == []
        assert await store.timeline_of(APP, sale.notification_id, "alice") == []
        assert (await store.counts_of(APP, sale.notification_id)).users == 0
        assert await store.inbox_of(APP, "alice", 10) == []
        assert len(await store.timeline_of(APP, held_long.notification_id, CAROL)) == 1  # due
    finally:
        await pool.close()
