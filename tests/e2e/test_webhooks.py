"""Webhooks through every service process: a receiver started by the test gets the signed outcome
of a push, an endpoint that answers 500 gets the same batch again, one that refuses it has it
parked and gets it once ``herald dlq replay`` sends it back, and a private address is refused when
it is registered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from contracts import topics
from contracts.apps import DEFAULT_WEBHOOK_STAGES
from contracts.trace import NotificationTraced
from services.devstack.stack import LocalStack
from services.registry.apps.admin_client import AdminClientError
from shared.kafka import dlq_cli
from shared.kafka.parked import Selection
from tests.support.factories import unique
from tests.support.log_scan import Needle
from tests.support.stack_client import StackClient
from tests.support.tenants import herald
from tests.support.webhooks import Received, Receiver, https_receiver, verify

pytestmark = pytest.mark.e2e


@pytest.fixture
async def client(stack: LocalStack) -> AsyncIterator[StackClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield StackClient(stack, http)


@pytest.fixture(scope="module")
def admin(stack: LocalStack, operator_key: str) -> dict[str, str]:
    """A key of the demo app with the admin scope, issued as an operator would."""
    key = herald(stack, operator_key, "keys", "create", stack.options.app_id, "--scopes", "admin")
    return {"Authorization": f"Bearer {key.splitlines()[-1]}"}


async def create_webhook(client: StackClient, admin: dict[str, str], url: str) -> httpx.Response:
    """POST /v1/webhooks, waiting while the registry has not yet heard of the new key."""
    async with asyncio.timeout(10):
        while True:
            response = await client.http.post(
                client.url("registry", "/v1/webhooks"), headers=admin, json={"url": url}
            )
            if response.status_code != 401:
                return response
            await asyncio.sleep(0.1)


def carrying(posts: list[Received], notification_id: str) -> list[Received]:
    """The POSTs whose batch holds the notification's delivered ``sent`` step."""
    return [
        post
        for post in posts
        if any(
            event["notification_id"] == notification_id
            and event["stage"] == "sent"
            and event["outcome"] == "delivered"
            for event in post.payload["events"]
        )
    ]


async def until(receiver: Receiver, path: str, found: Any, timeout: float = 45.0) -> Any:
    async with asyncio.timeout(timeout):
        while True:
            result = found(receiver.at(path))
            if result:
                return result
            await asyncio.sleep(0.1)


async def parked_and_replayed(stack: LocalStack, reason: str, receiver: Receiver) -> None:
    """Wait for a delivery refused with ``reason`` on the dead letters, then, the endpoint fixed,
    send it back as ``herald dlq replay webhooks.deliveries.dlq --reason ...`` does."""
    settings = stack.kafka_settings()
    parking = topics.WEBHOOK_DELIVERIES.dead_letter
    assert parking is not None
    chosen = Selection(reason=reason)
    async with asyncio.timeout(30):
        while True:
            if reason in "".join(await dlq_cli.list_parked(settings, parking, chosen)):
                break
            await asyncio.sleep(0.2)
    receiver.refusing.clear()
    lines, failed = await dlq_cli.replay_parked(settings, parking, chosen, dry_run=False)
    assert failed == 0, lines
    assert any(line.startswith("replayed") for line in lines), lines


async def test_a_private_address_is_refused_at_registration(
    stack: LocalStack, client: StackClient, admin: dict[str, str], operator_key: str
) -> None:
    response = await create_webhook(client, admin, "https://169.254.169.254/latest/meta-data")
    with pytest.raises(
        AdminClientError, match=r"422: url: 10\.0\.0\.1 is not a public address \(private\)"
    ):
        await asyncio.to_thread(
            herald,
            stack,
            operator_key,
            "webhooks",
            "create",
            stack.options.app_id,
            "https://10.0.0.1/hook",
        )

    assert response.status_code == 422, response.text
    assert "not a public address (link-local)" in response.json()["error"]["message"]


async def test_receivers_get_signed_outcomes_and_a_failed_batch_again(
    stack: LocalStack,
    client: StackClient,
    admin: dict[str, str],
    learnt_secrets: list[Needle],
    operator_key: str,
) -> None:
    assert stack.credentials is not None
    server = stack.credentials.server
    with https_receiver(server.cert, server.key) as receiver:
        receiver.flaky.add("/flaky")
        receiver.refusing.add("/refuse")
        hooks: dict[str, dict[str, Any]] = {}
        try:
            for path in ("/ok", "/flaky", "/refuse"):
                response = await create_webhook(client, admin, receiver.url(path))
                assert response.status_code == 201, response.text
                hooks[path] = response.json()
                learnt_secrets.append(Needle(f"webhook secret {path}", hooks[path]["secret"]))
            listed = await client.http.get(client.url("registry", "/v1/webhooks"), headers=admin)
            assert "secret" not in listed.text
            assert len(listed.json()["webhooks"]) == 3
            by_cli = await asyncio.to_thread(
                herald, stack, operator_key, "webhooks", "list", "demo"
            )
            assert receiver.url("/flaky") in by_cli
            assert hooks["/flaky"]["secret"] not in by_cli
            user = unique("hooked")
            await client.register_fcm(user)
            sent = await client.send(
                {
                    "idempotency_key": unique("webhook"),
                    "audience": {"user_ids": [user]},
                    "content": {"title": "Your order shipped"},
                }
            )
            assert sent.status_code == 202, sent.text
            notification_id = sent.json()["notification_id"]

            (ok,) = await until(receiver, "/ok", lambda posts: carrying(posts, notification_id))
            assert ok.status == 200
            assert verify(ok.body, ok.headers["Herald-Signature"], hooks["/ok"]["secret"])
            assert not verify(ok.body, ok.headers["Herald-Signature"], hooks["/flaky"]["secret"])
            assert ok.delivery == ok.payload["delivery_id"]
            assert ok.payload["webhook_id"] == hooks["/ok"]["webhook_id"]

            failed, again = await until(
                receiver,
                "/flaky",
                lambda posts: len(found := carrying(posts, notification_id)) >= 2 and found,
            )
            assert (failed.status, again.status) == (500, 200)
            assert again.delivery == failed.delivery
            assert again.body == failed.body
            assert verify(again.body, again.headers["Herald-Signature"], hooks["/flaky"]["secret"])

            (refused,) = await until(receiver, "/refuse", lambda p: carrying(p, notification_id))
            assert refused.status == 410
            await parked_and_replayed(stack, "HTTP 410", receiver)
            replayed = await until(
                receiver,
                "/refuse",
                lambda posts: [p for p in carrying(posts, notification_id) if p.status == 200],
            )
            assert [p.body for p in replayed] == [refused.body]
        finally:
            for hook in hooks.values():
                await client.http.delete(
                    client.url("registry", f"/v1/webhooks/{hook['webhook_id']}"),
                    headers=admin,
                )
    metrics = (await client.http.get(client.url("webhooks", "/metrics"))).text
    assert 'herald_webhook_deliveries_total{app="demo",outcome="delivered"}' in metrics
    assert 'herald_webhook_deliveries_total{app="demo",outcome="retry_scheduled"}' in metrics


async def test_an_app_reads_its_own_outcomes_on_its_own_topic(client: StackClient) -> None:
    user = unique("streamed")
    await client.register_fcm(user)
    sent = await client.send(
        {
            "idempotency_key": unique("outcome"),
            "audience": {"user_ids": [user]},
            "content": {"title": "Your order shipped"},
        }
    )
    assert sent.status_code == 202, sent.text
    notification_id = sent.json()["notification_id"]
    app = client.stack.options.app_id

    def has_the_send(found: list[NotificationTraced]) -> bool:
        return any(str(step.notification_id) == notification_id for step in found)

    stream = await client.topics.read(topics.outcomes_of(app), until=has_the_send, timeout=45)

    mine = [step for step in stream if str(step.notification_id) == notification_id]
    assert [(step.stage, step.outcome, step.user_id) for step in mine] == [
        ("sent", "delivered", user)
    ]
    assert {step.app_id for step in stream} == {app}
    assert {step.stage for step in stream} <= set(DEFAULT_WEBHOOK_STAGES)
