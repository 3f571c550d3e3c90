"""Audiences through every service process: a topic send reaches exactly the subscribed devices
and every device of the subscribed users, ``all`` every active device of the app and none of
another app's, a segment exactly the matching devices. Each send goes out from an app of its own,
so ``all`` meets no other test's devices."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.devstack.stack import LocalStack
from tests.support.factories import unique
from tests.support.stack_client import StackClient
from tests.support.tenants import Tenant, bearer, create_app, give_fcm_credentials

pytestmark = pytest.mark.e2e


@pytest.fixture
async def client(stack: LocalStack) -> AsyncIterator[StackClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield StackClient(stack, http)


async def register(
    client: StackClient, tenant: Tenant, user: str, **fields: Any
) -> tuple[str, str]:
    """A new FCM device of ``user`` in the tenant's app; its token and id."""
    token = f"{unique('fcm')}:{'A' * 40}"
    reply = await client.http.post(
        client.url("registry", "/v1/devices"),
        headers=bearer(tenant.key),
        json={"user_id": user, "platform": "fcm", "token": token, **fields},
    )
    assert reply.status_code == 201, reply.text
    return token, str(reply.json()["device_id"])


def titles(pushes: list[dict[str, Any]]) -> list[str]:
    return [push["message"]["notification"]["title"] for push in pushes]


async def test_topic_all_and_segment_sends_reach_exactly_their_devices(
    client: StackClient,
) -> None:
    tenant = await create_app(client.stack)
    await give_fcm_credentials(client.stack, tenant.app_id)
    topic = unique("goals")
    fan, fan2, gold = unique("fan"), unique("fan2"), unique("gold")
    follower, reader = unique("follower"), unique("reader")

    async def subscribe(device_id: str, topics: list[str], headers: dict[str, str]) -> None:
        reply = await client.http.post(
            client.url("registry", f"/v1/devices/{device_id}/topics"),
            headers=headers,
            json={"subscribe": topics},
        )
        assert reply.status_code == 200, reply.text

    async def device(user: str, topics: list[str], **fields: Any) -> str:
        token, device_id = await register(client, tenant, user, **fields)
        if topics:
            await subscribe(device_id, topics, bearer(tenant.user_token(user)))
        return token

    subscribed = await device(fan, [topic], locale="fr-FR")
    unsubscribed = await device(fan, [])
    subscribed2 = await device(fan2, [topic, "news"], locale="pt-BR")
    golden = await device(gold, ["news"], locale="fr_CA")
    tagged = await client.http.patch(
        client.url("registry", f"/v1/users/{gold}/tags"),
        headers=bearer(tenant.key),
        json={"tags": {"tier": "gold"}},
    )
    assert tagged.status_code == 200, tagged.text
    follower_phone, _ = await register(client, tenant, follower)

    async def subscribe_user(user: str, topics: list[str]) -> None:
        reply = await client.http.post(
            client.url("registry", f"/v1/users/{user}/topics"),
            headers=bearer(tenant.user_token(user)),
            json={"subscribe": topics},
        )
        assert reply.status_code == 200, reply.text
        assert reply.json() == {"user_id": user, "topics": sorted(topics)}

    await subscribe_user(follower, [topic])
    follower_tablet, _ = await register(client, tenant, follower)
    await subscribe_user(reader, ["news"])
    reader_phone, _ = await register(client, tenant, reader)
    await subscribe_user(fan2, [topic])
    other_app, other_app_device = await client.register_fcm(fan)
    await subscribe(other_app_device, [topic], client.auth)

    async def send(title: str, audience: dict[str, Any], *tokens: str) -> None:
        reply = await client.http.post(
            client.url("ingest", "/v1/notifications"),
            headers=bearer(tenant.key),
            json={
                "idempotency_key": unique(title),
                "audience": audience,
                "content": {"title": title},
            },
        )
        assert reply.status_code == 202, reply.text
        users = audience.get("user_ids")
        assert reply.json()["recipients"] == (len(users) if users else None)
        for token in tokens:
            await client.wait_for_pushes(token, lambda pushes: title in titles(pushes))

    await send("topic", {"topic": topic}, subscribed, subscribed2, follower_phone, follower_tablet)
    followers = [follower_phone, follower_tablet, reader_phone]
    await send("all", {"all": True}, subscribed, unsubscribed, subscribed2, golden, *followers)
    segment = {"locales": ["fr"], "user_tags": {"tier": "gold"}}
    await send("segment", {"segment": segment}, golden)
    every = [subscribed, unsubscribed, subscribed2, golden, *followers]
    # A last push to every user, in each app: a push the earlier sends made by mistake would
    # have come first, since every stage keeps each user's (and each device's) order.
    await send("last", {"user_ids": [fan, fan2, gold, follower, reader]}, *every)
    marker = await client.send(
        {
            "idempotency_key": unique("demo"),
            "audience": {"user_ids": [fan]},
            "content": {"title": "last"},
        }
    )
    assert marker.status_code == 202, marker.text
    await client.wait_for_pushes(other_app, lambda pushes: "last" in titles(pushes))

    received = {token: titles(await client.pushes_to(token)) for token in [*every, other_app]}
    assert received == {
        subscribed: ["topic", "all", "last"],
        unsubscribed: ["all", "last"],
        subscribed2: ["topic", "all", "last"],
        golden: ["all", "segment", "last"],
        follower_phone: ["topic", "all", "last"],
        follower_tablet: ["topic", "all", "last"],
        reader_phone: ["all", "last"],
        other_app: ["last"],
    }
