"""The registry against the real broker and PostgreSQL: devices in, one push per device out.

Proving that a push did NOT happen uses the order of one device's partition: pushes are keyed by
device id and the registry handles one batch at a time, so once a later push to a device is read,
any earlier push to it would have been read too.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

import pytest

from contracts import topics
from contracts.base import derived_id
from contracts.push import PushRequest, PushResult
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.postgres import EmbeddedPostgres
from tests.support.factories import apns_token, unique
from tests.support.registry import (
    APP,
    RunningRegistry,
    counted,
    eventually,
    fcm_token,
    running_registry,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def registry(
    broker: EmbeddedBroker, postgres: EmbeddedPostgres
) -> AsyncIterator[RunningRegistry]:
    """A registry under its own topic prefix, for a test that produces or reads topics."""
    async with running_registry(broker.bootstrap, postgres.dsn) as running:
        yield running


@pytest.fixture(scope="module")
async def api_only(
    broker: EmbeddedBroker, postgres: EmbeddedPostgres
) -> AsyncIterator[RunningRegistry]:
    """One registry shared by the tests that only call the HTTP API (starting one takes seconds)."""
    async with running_registry(broker.bootstrap, postgres.dsn) as running:
        yield running


async def register(
    registry: RunningRegistry, user_id: str, token: str, *, status: int = 201, **fields: Any
) -> dict[str, Any]:
    platform = fields.pop("platform", "fcm")
    reply = await registry.api.post(
        "/v1/devices", json={"user_id": user_id, "platform": platform, "token": token, **fields}
    )
    assert reply.status_code == status, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def device(registry: RunningRegistry, device_id: str) -> dict[str, Any]:
    reply = await registry.api.get(f"/v1/devices/{device_id}")
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def pushes_until(
    registry: RunningRegistry, *wanted: tuple[uuid.UUID, str]
) -> list[PushRequest]:
    """Read push.fcm until a push of each (notification id, device id) pair has arrived."""

    def arrived(found: list[PushRequest]) -> bool:
        seen = {(push.notification_id, str(push.device_id)) for push in found}
        return set(wanted) <= seen

    return await registry.io.read(topics.PUSH["fcm"], until=arrived)


def result(pushed: dict[str, Any], outcome: str, at: datetime, **fields: Any) -> PushResult:
    values: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "app_id": APP,
        "occurred_at": at,
        "request_event_id": uuid.uuid4(),
        "notification_id": uuid.uuid4(),
        "user_id": pushed["user_id"],
        "device_id": pushed["device_id"],
        "platform": pushed["platform"],
        "token": pushed["token"],
        "outcome": outcome,
        "attempts": 1,
        "accepted_at": at,
    }
    values.update(fields)
    return PushResult.model_validate(values)


async def test_each_active_device_of_the_user_gets_the_notification(
    registry: RunningRegistry,
) -> None:
    user = unique("user")
    phone = await register(registry, user, fcm_token(), locale="en-GB", time_zone="Europe/London")
    tablet = await register(registry, user, fcm_token())
    laptop = await register(registry, user, apns_token(), platform="apns")
    development_build = await register(
        registry, user, apns_token(), platform="apns", apns_environment="sandbox"
    )
    notification = counted(registry.clock.now(), user, badge=4, badge_seq=9)
    to_nobody = counted(registry.clock.now(), unique("nobody"))

    await registry.io.produce(topics.COUNTED, notification, to_nobody)
    fcm = await registry.io.read(topics.PUSH["fcm"], until=lambda found: len(found) >= 2)
    apns = await registry.io.read(topics.PUSH["apns"], until=lambda found: len(found) >= 2)
    steps = await registry.io.read(topics.TRACE, until=lambda found: len(found) >= 2)

    assert phone["created_at"] == phone["last_registered_at"] == phone["updated_at"]
    assert (phone["locale"], phone["time_zone"], phone["active"]) == (
        "en-GB",
        "Europe/London",
        True,
    )
    assert sorted((p.token, str(p.device_id)) for p in fcm) == sorted(
        (d["token"], d["device_id"]) for d in (phone, tablet)
    )
    assert {(p.token, str(p.device_id), p.apns_environment) for p in apns} == {
        (laptop["token"], laptop["device_id"], None),
        (development_build["token"], development_build["device_id"], "sandbox"),
    }
    assert development_build["apns_environment"] == "sandbox"
    for push in [*fcm, *apns]:
        assert push.event_id == derived_id(notification.event_id, push.device_id)
        assert (push.badge, push.badge_seq) == (4, 9)
        assert push.notification_id == notification.notification_id
        assert push.content == notification.content
        assert push.accepted_at == notification.accepted_at
    assert sorted((s.notification_id, s.stage, s.user_id, s.devices) for s in steps) == sorted(
        [
            (notification.notification_id, "fanned_out", user, {"fcm": 2, "apns": 2}),
            (to_nobody.notification_id, "no_device", to_nobody.user_id, {}),
        ]
    )


async def test_registering_a_token_again_moves_it_to_its_new_user(
    registry: RunningRegistry,
) -> None:
    alice, bob = unique("alice"), unique("bob")
    shared_token = fcm_token()
    first = await register(registry, alice, shared_token)
    alice_other = await register(registry, alice, fcm_token())
    registry.clock.advance(minutes=5)

    moved = await register(registry, bob, shared_token, status=200)

    assert moved["device_id"] == first["device_id"]
    assert moved["user_id"] == bob
    assert moved["created_at"] == first["created_at"]
    assert datetime.fromisoformat(moved["last_registered_at"]) == registry.clock.now()
    listed = await registry.api.get(f"/v1/users/{alice}/devices")
    assert [d["device_id"] for d in listed.json()["devices"]] == [alice_other["device_id"]]

    for_alice = counted(registry.clock.now(), alice)
    await registry.io.produce(topics.COUNTED, for_alice)
    await pushes_until(registry, (for_alice.notification_id, alice_other["device_id"]))
    for_bob = counted(registry.clock.now(), bob)
    await registry.io.produce(topics.COUNTED, for_bob)
    pushes = await pushes_until(registry, (for_bob.notification_id, moved["device_id"]))

    to_moved_device = [p.notification_id for p in pushes if str(p.device_id) == moved["device_id"]]
    assert to_moved_device == [for_bob.notification_id]


async def test_an_unregistered_device_receives_nothing_until_registered_again(
    registry: RunningRegistry,
) -> None:
    user = unique("user")
    token = fcm_token()
    leaving = await register(registry, user, token)
    registry.clock.advance(seconds=1)
    staying = await register(registry, user, fcm_token())
    registry.clock.advance(minutes=1)

    reply = await registry.api.delete(f"/v1/devices/{leaving['device_id']}")

    assert reply.status_code == 204
    gone = await device(registry, leaving["device_id"])
    assert (gone["active"], gone["deactivation_reason"]) == (False, "unregistered")
    assert datetime.fromisoformat(gone["deactivated_at"]) == registry.clock.now()
    active = (await registry.api.get(f"/v1/users/{user}/devices")).json()["devices"]
    assert [d["device_id"] for d in active] == [staying["device_id"]]
    every = await registry.api.get(f"/v1/users/{user}/devices?include_inactive=true")
    assert [d["device_id"] for d in every.json()["devices"]] == [
        leaving["device_id"],
        staying["device_id"],
    ]
    assert (await registry.api.delete(f"/v1/devices/{leaving['device_id']}")).status_code == 204

    while_gone = counted(registry.clock.now(), user)
    await registry.io.produce(topics.COUNTED, while_gone)
    await pushes_until(registry, (while_gone.notification_id, staying["device_id"]))
    back = await register(registry, user, token, status=200)
    assert (back["active"], back["deactivation_reason"], back["deactivated_at"]) == (
        True,
        None,
        None,
    )
    after_return = counted(registry.clock.now(), user)
    await registry.io.produce(topics.COUNTED, after_return)
    pushes = await pushes_until(registry, (after_return.notification_id, leaving["device_id"]))

    to_returned = [p.notification_id for p in pushes if str(p.device_id) == leaving["device_id"]]
    assert to_returned == [after_return.notification_id]


async def test_a_token_the_provider_calls_invalid_is_deactivated(
    registry: RunningRegistry,
) -> None:
    user = unique("user")
    pushed = await register(registry, user, fcm_token())
    registry.clock.advance(minutes=1)
    delivered_at = registry.clock.now()
    registry.clock.advance(minutes=1)
    verdict = result(
        pushed, "token_invalid", registry.clock.now(), reason="UNREGISTERED", provider_status=404
    )

    await registry.io.produce(topics.RESULTS, result(pushed, "delivered", delivered_at), verdict)

    async def deactivated() -> bool:
        return not (await device(registry, pushed["device_id"]))["active"]

    await eventually(deactivated)
    [step] = await registry.io.read(topics.TRACE, until=lambda found: len(found) >= 1)
    after = await device(registry, pushed["device_id"])
    assert after["deactivation_reason"] == "UNREGISTERED"
    assert (step.stage, step.notification_id, str(step.device_id), step.platform) == (
        "token_deactivated",
        verdict.notification_id,
        pushed["device_id"],
        "fcm",
    )
    assert (step.user_id, step.reason) == (user, "UNREGISTERED")
    assert datetime.fromisoformat(after["last_success_at"]) == delivered_at
    assert (await registry.api.get(f"/v1/users/{user}/devices")).json()["devices"] == []


async def test_a_token_registered_again_after_the_verdict_stays_active(
    registry: RunningRegistry,
) -> None:
    user = unique("user")
    token = apns_token()
    pushed = await register(registry, user, token, platform="apns")
    verdict_time = registry.clock.advance(minutes=1)
    registry.clock.advance(minutes=1)
    await register(registry, user, token, platform="apns", status=200)
    late_verdict = result(pushed, "token_invalid", registry.clock.now(), invalid_since=verdict_time)
    marker_time = registry.clock.advance(minutes=1)
    marker = result(pushed, "delivered", marker_time)

    await registry.io.produce(topics.RESULTS, late_verdict, marker)

    async def marker_applied() -> bool:
        seen = (await device(registry, pushed["device_id"]))["last_success_at"]
        return seen is not None and datetime.fromisoformat(seen) == marker_time

    await eventually(marker_applied)
    assert (await device(registry, pushed["device_id"]))["active"] is True


async def test_only_the_keys_app_sees_its_devices(api_only: RunningRegistry) -> None:
    user = unique("user")
    mine = await register(api_only, user, fcm_token())
    path = f"/v1/devices/{mine['device_id']}"

    assert (await api_only.anonymous.get(path)).status_code == 401
    bad_key = await api_only.anonymous.get(path, headers={"Authorization": "Bearer hrld_nope"})
    assert bad_key.status_code == 401
    assert bad_key.json()["error"]["code"] == "unauthorized"
    assert (await api_only.anonymous.post("/v1/devices", json={})).status_code == 401
    hidden = await api_only.other_app_api.get(path)
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "not_found"
    assert (await api_only.other_app_api.delete(path)).status_code == 404
    listed = await api_only.other_app_api.get(f"/v1/users/{user}/devices")
    assert listed.json() == {"devices": []}
    assert (await device(api_only, mine["device_id"]))["active"] is True
    unknown = await api_only.api.get(f"/v1/devices/{uuid.uuid4()}")
    assert unknown.status_code == 404


async def test_the_same_token_in_another_app_is_another_device(
    api_only: RunningRegistry,
) -> None:
    token = fcm_token()
    mine = await register(api_only, unique("user"), token)
    reply = await api_only.other_app_api.post(
        "/v1/devices", json={"user_id": unique("user"), "platform": "fcm", "token": token}
    )
    assert reply.status_code == 201
    assert reply.json()["device_id"] != mine["device_id"]
    assert (await device(api_only, mine["device_id"]))["active"] is True


BAD_REGISTRATIONS: list[tuple[dict[str, Any], str, str]] = [
    ({"token": "abc"}, "token", "fcm tokens are 32 to 4096 characters long; this one has 3"),
    ({"time_zone": "Mars/Base"}, "time_zone", "is not an IANA time zone name"),
    ({"platform": "sms"}, "platform", "'apns', 'fcm' or 'webpush'"),
    ({"user_id": "two words"}, "user_id", "String should match pattern"),
    ({"app_id": APP}, "app_id", "unknown field; expected one of: user_id, platform, token"),
    ({"app_verison": "2.1"}, "app_verison", "unknown field; did you mean 'app_version'?"),
]


async def test_a_bad_registration_is_refused_naming_the_field(api_only: RunningRegistry) -> None:
    for fields, field, words in BAD_REGISTRATIONS:
        body = {"user_id": unique("user"), "platform": "fcm", "token": fcm_token(), **fields}
        reply = await api_only.api.post("/v1/devices", json=body)

        assert reply.status_code == 422, fields
        error = reply.json()["error"]
        assert (error["code"], error["field"]) == ("invalid_request", field)
        assert words in error["message"]

    reply = await api_only.api.get(f"/v1/users/{'u' * 129}/devices")
    assert reply.status_code == 422
    assert "user_id" in reply.json()["error"]["field"]


async def test_misspelt_fields_are_refused_naming_the_field_meant(
    api_only: RunningRegistry,
) -> None:
    user = unique("user")
    quiet = {"time_zone": "Europe/Paris", "quiet_hours": {"start": "22:00", "ends": "07:00"}}
    preferences = await api_only.api.put(f"/v1/users/{user}/preferences", json=quiet)
    reads = await api_only.api.post(
        f"/v1/users/{user}/reads", json={"notification_id": str(uuid.uuid4())}
    )

    assert preferences.status_code == 422
    assert preferences.json()["error"]["field"] == "quiet_hours.ends"
    assert "did you mean 'end'?" in preferences.json()["error"]["message"]
    assert reads.status_code == 422
    assert reads.json()["error"]["field"] == "notification_id"
    assert "did you mean 'notification_ids'?" in reads.json()["error"]["message"]


async def test_an_app_without_web_push_credentials_has_no_vapid_key_to_read(
    api_only: RunningRegistry,
) -> None:
    path = "/v1/webpush/vapid-public-key"

    assert (await api_only.anonymous.get(path)).status_code == 401
    async with api_only.as_user(unique("user")) as web_page:
        answers = [await api_only.api.get(path), await web_page.get(path)]
    for missing in answers:
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "no_webpush_credentials"
        assert "herald credentials set" in missing.json()["error"]["message"]


async def test_a_user_id_with_a_slash_is_addressed_by_every_user_route(
    api_only: RunningRegistry,
) -> None:
    user = f"{unique('org')}/alice"
    users = f"/v1/users/{quote(user, safe='')}"
    registered = await register(api_only, user, fcm_token())

    async with api_only.as_user(user) as own:
        replies = {
            "devices": await api_only.api.get(f"{users}/devices"),
            "topics": await api_only.api.post(f"{users}/topics", json={"subscribe": ["news"]}),
            "topics read": await api_only.api.get(f"{users}/topics"),
            "tags": await api_only.api.patch(f"{users}/tags", json={"tags": {"plan": "pro"}}),
            "tags read": await api_only.api.get(f"{users}/tags"),
            "preferences": await own.put(f"{users}/preferences", json={"time_zone": "UTC"}),
            "preferences read": await own.get(f"{users}/preferences"),
            "reads": await own.post(
                f"{users}/reads",
                json={
                    "device_id": registered["device_id"],
                    "notification_ids": [str(uuid.uuid4())],
                },
            ),
        }

    assert {name: reply.status_code for name, reply in replies.items()} == {
        "devices": 200,
        "topics": 200,
        "topics read": 200,
        "tags": 200,
        "tags read": 200,
        "preferences": 200,
        "preferences read": 200,
        "reads": 202,
    }
    assert [d["device_id"] for d in replies["devices"].json()["devices"]] == [
        registered["device_id"]
    ]
    assert "news" in replies["topics read"].text
    assert replies["tags read"].json()["tags"] == {"plan": "pro"}
    assert replies["preferences read"].json()["user_id"] == user


@pytest.mark.parametrize("user_id", [".", ".."])
async def test_a_dot_segment_is_refused_as_a_user_id(
    api_only: RunningRegistry, user_id: str
) -> None:
    registration = await register(api_only, user_id, fcm_token(), status=422)
    encoded = await api_only.api.get(f"/v1/users/{user_id.replace('.', '%2E')}/devices")

    assert registration["error"]["field"] == "user_id"
    assert encoded.status_code == 422, encoded.text
    for error in (registration["error"], encoded.json()["error"]):
        assert f"{user_id!r} cannot be a user id" in error["message"]
