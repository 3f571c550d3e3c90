"""Users' preferences set through the registry's API reach the scheduler over Kafka, which then
keeps a user's pushes out of their quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts import topics
from contracts.users import UserPreferences
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.postgres import EmbeddedPostgres
from tests.support.clock import FrozenClock
from tests.support.factories import unique, user_notification
from tests.support.registry import running_registry
from tests.support.scheduler import (
    copy_states,
    fresh_database,
    preferences_known,
    running_scheduler,
)

pytestmark = pytest.mark.integration

NIGHT = {"start": "22:00", "end": "07:00"}


async def test_quiet_hours_set_on_the_registry_hold_the_users_pushes(
    broker: EmbeddedBroker, postgres: EmbeddedPostgres
) -> None:
    dsn = await fresh_database(postgres.dsn)
    user = unique("sleeper")
    clock = FrozenClock(datetime(2026, 1, 15, 22, tzinfo=UTC))  # 23:00 in Berlin
    async with running_registry(broker.bootstrap, dsn) as registry:
        kafka = registry.io.settings
        never_set = await registry.api.get(f"/v1/users/{user}/preferences")
        put = await registry.api.put(
            f"/v1/users/{user}/preferences",
            json={"time_zone": "Europe/Berlin", "quiet_hours": NIGHT},
        )
        read_back = await registry.api.get(f"/v1/users/{user}/preferences")
        [event] = [
            e
            for e in await registry.io.read(
                topics.PREFERENCES, until=lambda found: any(e.user_id == user for e in found)
            )
            if e.user_id == user
        ]

        async with running_scheduler(kafka, dsn, clock) as scheduler:
            await preferences_known(dsn, user, 1)
            tonight = user_notification(clock.now(), user_id=user)
            await registry.io.produce(topics.USER, tonight)
            clock.current = datetime(2026, 1, 16, 6, tzinfo=UTC)  # 07:00 in Berlin
            scheduler.releaser.wake()
            [due] = [
                d
                for d in await registry.io.read(
                    topics.DUE, until=lambda found: any(d.user_id == user for d in found)
                )
                if d.user_id == user
            ]

    assert never_set.status_code == 200
    assert never_set.json()["revision"] == 0
    assert put.status_code == 200, put.text
    assert put.json()["revision"] == 1
    assert read_back.json()["quiet_hours"] == {"start": "22:00:00", "end": "07:00:00"}
    assert isinstance(event, UserPreferences)
    assert (event.time_zone, event.revision) == ("Europe/Berlin", 1)
    assert due.due_at == datetime(2026, 1, 16, 6, tzinfo=UTC)
    assert (await copy_states(dsn))[user] == "released"


async def test_preferences_are_checked_and_users_may_set_only_their_own(
    broker: EmbeddedBroker, postgres: EmbeddedPostgres
) -> None:
    user, someone_else = unique("user"), unique("user")
    async with running_registry(broker.bootstrap, postgres.dsn) as registry:
        no_zone = await registry.api.put(
            f"/v1/users/{user}/preferences", json={"quiet_hours": NIGHT}
        )
        bad_zone = await registry.api.put(
            f"/v1/users/{user}/preferences", json={"time_zone": "Mars/Olympus"}
        )
        empty = await registry.api.put(
            f"/v1/users/{user}/preferences",
            json={"time_zone": "UTC", "quiet_hours": {"start": "22:00", "end": "22:00"}},
        )
        async with registry.as_user(user) as as_user:
            own = await as_user.put(
                f"/v1/users/{user}/preferences", json={"time_zone": "Asia/Tokyo"}
            )
            again = await as_user.put(
                f"/v1/users/{user}/preferences", json={"time_zone": "Asia/Seoul"}
            )
            other = await as_user.put(
                f"/v1/users/{someone_else}/preferences", json={"time_zone": "Asia/Tokyo"}
            )
        other_app = await registry.other_app_api.get(f"/v1/users/{user}/preferences")

    assert no_zone.status_code == 422
    assert no_zone.json()["error"]["field"] == "quiet_hours"
    assert bad_zone.status_code == 422
    assert "Mars/Olympus" in bad_zone.json()["error"]["message"]
    assert empty.status_code == 422
    assert own.status_code == 200
    assert again.json()["revision"] == own.json()["revision"] + 1
    assert other.status_code == 404
    assert other_app.json()["revision"] == 0
