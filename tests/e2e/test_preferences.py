"""Categories through every service process: a category defined with ``herald categories`` reaches
ingest, a user's opt-out and a frequency cap each withhold exactly the right pushes; the categories
API answers only an admin key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.devstack.stack import LocalStack
from tests.support.factories import unique
from tests.support.scheduler import preferences_known
from tests.support.stack_client import StackClient
from tests.support.tenants import bearer, create_app, herald

pytestmark = pytest.mark.e2e


@pytest.fixture
async def client(stack: LocalStack) -> AsyncIterator[StackClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield StackClient(stack, http)


async def send(client: StackClient, users: list[str], title: str, **fields: Any) -> None:
    """Send, retrying while ingest has not yet heard of a category just created."""
    body = {
        "idempotency_key": unique("pref"),
        "audience": {"user_ids": users},
        "content": {"title": title},
        **fields,
    }
    async with asyncio.timeout(15):
        while (reply := await client.send(body)).status_code == 422:
            assert "category" in reply.text, reply.text
            await asyncio.sleep(0.1)
    assert reply.status_code == 202, reply.text


def titles(pushes: list[dict[str, Any]]) -> list[str]:
    return [push["message"]["notification"]["title"] for push in pushes]


async def test_a_category_opt_out_and_a_frequency_cap_each_withhold_exactly_the_right_pushes(
    client: StackClient, operator_key: str
) -> None:
    news, deals = unique("news").lower(), unique("deals").lower()
    app = client.stack.options.app_id
    await asyncio.to_thread(
        herald, client.stack, operator_key, "categories", "create", app, news, "--name", "News"
    )
    await asyncio.to_thread(
        herald,
        client.stack,
        operator_key,
        "categories",
        "create",
        app,
        deals,
        "--cap",
        "2",
        "--window",
        "3600",
    )
    opted_out, reader, capped = unique("out"), unique("reader"), unique("capped")
    tokens = {user: await client.register_fcm_device(user) for user in (opted_out, reader, capped)}
    choice = await client.http.put(
        client.url("registry", f"/v1/users/{opted_out}/preferences"),
        headers=client.user_auth(opted_out),
        json={"categories": {news: False}},
    )
    assert choice.status_code == 200, choice.text
    assert client.stack.postgres is not None
    await preferences_known(client.stack.postgres.dsn, opted_out, 1)

    await send(client, [opted_out, reader], "news", category=news)
    await send(client, [opted_out], "receipt", category=news, transactional=True)
    for n in range(3):
        await send(client, [capped], f"deal {n}", category=deals)
    await send(client, [opted_out, reader, capped], "last")
    arrived = {
        user: titles(await client.wait_for_pushes(token, lambda p: "last" in titles(p)))
        for user, token in tokens.items()
    }

    assert arrived == {
        opted_out: ["receipt", "last"],
        reader: ["news", "last"],
        capped: ["deal 0", "deal 1", "last"],
    }


async def test_the_categories_api_needs_the_admin_scope_and_refuses_unknown_names(
    stack: LocalStack,
) -> None:
    tenant = await create_app(stack)
    url = stack.services["registry"].url + "/v1/categories"
    async with httpx.AsyncClient(timeout=10, headers=bearer(tenant.key)) as http:
        put = await http.put(f"{url}/digest", json={"default_enabled": False})
        listed = await http.get(url)
        by_user = await http.get(url, headers=bearer(tenant.user_token("someone")))
        bad = await http.put(f"{url}/Digest!", json={})
        deleted = await http.delete(f"{url}/digest")
        again = await http.delete(f"{url}/digest")

    assert put.status_code == 200, put.text
    assert listed.json()["categories"] == [
        {"category_id": "digest", "name": "", "default_enabled": False, "cap": None}
    ]
    assert by_user.status_code == 403
    assert bad.status_code == 422
    assert (deleted.status_code, again.status_code) == (204, 404)
