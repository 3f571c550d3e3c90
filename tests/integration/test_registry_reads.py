"""Read reports and badge sync in the registry, against the real broker and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from contracts import topics
from contracts.badges import BadgeChanged, ReadsReported
from contracts.push import PushRequest
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.postgres import EmbeddedPostgres
from shared.tenancy.auth import new_signing_key
from tests.support.factories import apns_token, unique
from tests.support.registry import (
    APP,
    RunningRegistry,
    eventually,
    fcm_token,
    running_registry,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def registry(
    broker: EmbeddedBroker, postgres: EmbeddedPostgres
) -> AsyncIterator[RunningRegistry]:
    async with running_registry(
        broker.bootstrap, postgres.dsn, sync_merge_window_ms=1000, sync_flush_interval_ms=20
    ) as running:
        yield running


async def register(registry: RunningRegistry, user: str, platform: str = "fcm") -> str:
    token = fcm_token() if platform == "fcm" else apns_token()
    response = await registry.api.post(
        "/v1/devices", json={"user_id": user, "platform": platform, "token": token}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["device_id"])


async def test_a_user_reports_reads_for_themself_with_their_device(
    registry: RunningRegistry,
) -> None:
    user = unique("user")
    device = await register(registry, user)
    read = uuid.uuid4()

    async with registry.as_user(user) as client:
        response = await client.post(
            f"/v1/users/{user}/reads", json={"device_id": device, "notification_ids": [str(read)]}
        )

    assert response.status_code == 202, response.text
    reports = await registry.io.read(
        topics.READS, until=lambda found: any(r.user_id == user for r in found)
    )
    mine = [r for r in reports if isinstance(r, ReadsReported) and r.user_id == user]
    assert mine[0].notification_ids == [read]
    assert str(mine[0].device_id) == device
    assert str(mine[0].event_id) == response.json()["report_id"]


async def test_nobody_reports_for_somebody_else(registry: RunningRegistry) -> None:
    me, other = unique("me"), unique("other")
    others_device = await register(registry, other)
    body = {"all": True}

    async with registry.as_user(me) as client:
        for_other = await client.post(f"/v1/users/{other}/reads", json=body)
        with_others_device = await client.post(
            f"/v1/users/{me}/reads", json={"device_id": others_device, "all": True}
        )
    async with registry.as_user(me, key=new_signing_key()) as forged:
        forged_answer = await forged.post(f"/v1/users/{me}/reads", json=body)
    anonymous = await registry.anonymous.post(f"/v1/users/{me}/reads", json=body)
    other_app = await registry.other_app_api.post(
        f"/v1/users/{other}/reads", json={"device_id": others_device, "all": True}
    )

    assert for_other.status_code == 404
    assert with_others_device.status_code == 404
    assert forged_answer.status_code == 401
    assert anonymous.status_code == 401
    assert other_app.status_code == 404


async def test_an_empty_report_is_refused(registry: RunningRegistry) -> None:
    user = unique("user")
    async with registry.as_user(user) as client:
        response = await client.post(f"/v1/users/{user}/reads", json={})

    assert response.status_code == 422
    assert "notification_ids, up_to or all" in response.json()["error"]["message"]


async def test_a_device_reports_an_open_once_on_the_trace(registry: RunningRegistry) -> None:
    me, other = unique("me"), unique("other")
    mine, others = await register(registry, me, "apns"), await register(registry, other)
    notification = uuid.uuid4()
    path = f"/v1/notifications/{notification}/opened"

    async with registry.as_user(me) as client:
        opened = [await client.post(path, json={"device_id": mine}) for _ in range(2)]
        with_others_device = await client.post(path, json={"device_id": others})
        misspelt = await client.post(path, json={"device": mine})
    by_server = await registry.api.post(path, json={"device_id": others})
    steps = await registry.io.read(
        topics.TRACE, until=lambda found: sum(s.notification_id == notification for s in found) >= 3
    )

    assert [answer.status_code for answer in opened] == [202, 202], opened[0].text
    assert with_others_device.status_code == 404
    assert with_others_device.json()["error"]["field"] == "device_id"
    assert misspelt.status_code == 422
    assert misspelt.json()["error"]["field"] == "device"
    assert by_server.status_code == 202
    mine_opened = [s for s in steps if s.notification_id == notification and s.user_id == me]
    assert [(s.stage, str(s.device_id), s.platform) for s in mine_opened] == [
        ("opened", mine, "apns"),
        ("opened", mine, "apns"),
    ]
    assert mine_opened[0].event_id == mine_opened[1].event_id
    [theirs] = [s for s in steps if s.notification_id == notification and s.user_id == other]
    assert (theirs.stage, str(theirs.device_id)) == ("opened", others)


def badge_change(user: str, seq: int, badge: int, by: str | None) -> BadgeChanged:
    return BadgeChanged.model_validate(
        {
            "event_id": str(uuid.uuid4()),
            "app_id": APP,
            "occurred_at": "2026-01-15T12:00:00+00:00",
            "user_id": user,
            "badge": badge,
            "badge_seq": seq,
            "read_notification_ids": [str(uuid.uuid4())],
            "reported_by_device": by,
        }
    )


async def test_a_burst_of_changes_becomes_one_sync_per_other_device(
    registry: RunningRegistry, postgres: EmbeddedPostgres
) -> None:
    user = unique("user")
    reporter = await register(registry, user)
    phone = await register(registry, user, "apns")
    tablet = await register(registry, user)
    await registry.io.produce(
        topics.BADGES, badge_change(user, 4, 2, reporter), badge_change(user, 5, 1, reporter)
    )
    conn = await asyncpg.connect(postgres.dsn)
    try:

        async def merged() -> bool:
            seq = await conn.fetchval(
                "SELECT badge_seq FROM registry.pending_syncs WHERE user_id = $1", user
            )
            return bool(seq == 5)

        await eventually(merged)
    finally:
        await conn.close()
    registry.clock.advance(seconds=2)

    fcm = await registry.io.read(
        topics.PUSH["fcm"], until=lambda found: any(p.user_id == user for p in found)
    )
    apns = await registry.io.read(
        topics.PUSH["apns"],
        until=lambda found: sum(1 for p in found if p.user_id == user) >= 2,
    )

    to_fcm = [p for p in fcm if isinstance(p, PushRequest) and p.user_id == user]
    to_apns = [p for p in apns if isinstance(p, PushRequest) and p.user_id == user]
    assert [str(p.device_id) for p in to_fcm] == [tablet]
    assert {str(p.device_id) for p in to_apns} == {phone}
    assert sorted(p.sync.wake_app for p in to_apns if p.sync) == [False, True]
    for push in to_fcm + to_apns:
        assert push.sync is not None
        assert (push.sync.badge, push.sync.badge_seq) == (1, 5)
        assert len(push.sync.read_notification_ids) == 2
    assert registry.clock.now() - to_fcm[0].accepted_at < timedelta(seconds=3)
