"""A user who never stated a time zone gets their device's; a stated zone always wins; refreshing a
registration (every app launch) moves its last sign of life and publishes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from contracts import topics
from contracts.users import UserPreferences
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.postgres import EmbeddedPostgres
from tests.support.factories import unique
from tests.support.registry import RunningRegistry, fcm_token, running_registry

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def registry(
    broker: EmbeddedBroker, postgres: EmbeddedPostgres
) -> AsyncIterator[RunningRegistry]:
    async with running_registry(broker.bootstrap, postgres.dsn) as running:
        yield running


async def register(registry: RunningRegistry, user: str, zone: str) -> None:
    response = await registry.api.post(
        "/v1/devices",
        json={"user_id": user, "platform": "fcm", "token": fcm_token(), "time_zone": zone},
    )
    assert response.status_code == 201, response.text


async def published(registry: RunningRegistry, user: str, count: int) -> list[UserPreferences]:
    found = await registry.io.read(
        topics.PREFERENCES,
        until=lambda events: sum(1 for e in events if e.user_id == user) >= count,
    )
    return [e for e in found if isinstance(e, UserPreferences) and e.user_id == user]


async def test_a_devices_zone_fills_in_until_the_user_states_one(
    registry: RunningRegistry,
) -> None:
    user = unique("user")
    await register(registry, user, "Asia/Tokyo")
    await register(registry, user, "America/New_York")
    stated = await registry.api.put(
        f"/v1/users/{user}/preferences", json={"time_zone": "Europe/Paris"}
    )
    await register(registry, user, "Australia/Sydney")
    quiet = {"time_zone": "Europe/Paris", "quiet_hours": {"start": "22:00", "end": "07:00"}}
    restated = await registry.api.put(f"/v1/users/{user}/preferences", json=quiet)

    events = await published(registry, user, 4)
    current = await registry.api.get(f"/v1/users/{user}/preferences")

    assert stated.status_code == 200
    assert restated.status_code == 200
    assert [(e.revision, e.time_zone) for e in events] == [
        (1, "Asia/Tokyo"),
        (2, "America/New_York"),
        (3, "Europe/Paris"),
        (4, "Europe/Paris"),
    ]
    assert current.json()["time_zone"] == "Europe/Paris"


async def test_a_refreshed_registration_moves_last_registered_at_and_publishes_nothing(
    registry: RunningRegistry,
) -> None:
    user, token = unique("user"), fcm_token()
    body = {"user_id": user, "platform": "fcm", "token": token, "time_zone": "Asia/Tokyo"}
    first = await registry.api.post("/v1/devices", json=body)
    registry.clock.advance(days=3)
    refreshes = [await registry.api.post("/v1/devices", json=body) for _ in range(3)]
    # A stated zone is published after the refreshes, under the same key: anything a refresh
    # had published would come before it.
    await registry.api.put(f"/v1/users/{user}/preferences", json={"time_zone": "Europe/Paris"})

    events = await published(registry, user, 2)

    assert first.status_code == 201
    assert [r.status_code for r in refreshes] == [200, 200, 200]
    refreshed = refreshes[-1].json()
    assert refreshed["device_id"] == first.json()["device_id"]
    assert refreshed["created_at"] == first.json()["created_at"]
    assert datetime.fromisoformat(refreshed["last_registered_at"]) == registry.clock.now()
    assert [(e.revision, e.time_zone) for e in events] == [(1, "Asia/Tokyo"), (2, "Europe/Paris")]
