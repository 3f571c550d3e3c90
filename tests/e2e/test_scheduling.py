"""Scheduling through every service process: a push sent for later arrives at its time, not before,
and an HTTP cancel stops a held one or says it came too late."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.devstack.stack import LocalStack
from tests.support.factories import unique
from tests.support.stack_client import StackClient

pytestmark = pytest.mark.e2e


@pytest.fixture
async def client(stack: LocalStack) -> AsyncIterator[StackClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield StackClient(stack, http)


async def cancel(client: StackClient, notification_id: str) -> httpx.Response:
    return await client.http.post(
        client.url("ingest", f"/v1/notifications/{notification_id}/cancel"), headers=client.auth
    )


async def test_a_push_for_later_arrives_at_its_time_and_cancels_answer_truthfully(
    client: StackClient,
) -> None:
    user = unique("user")
    token = await client.register_fcm_device(user)
    send_at = datetime.now(UTC) + timedelta(seconds=2)
    soon = await client.send(
        {
            "idempotency_key": unique("soon"),
            "audience": {"user_ids": [user]},
            "content": {"title": "Soon"},
            "schedule": {"send_at": send_at.isoformat()},
        }
    )
    later = await client.send(
        {
            "idempotency_key": unique("later"),
            "audience": {"user_ids": [user]},
            "content": {"title": "Later"},
            "schedule": {"send_at": (send_at + timedelta(hours=1)).isoformat()},
        }
    )
    assert soon.status_code == later.status_code == 202

    [push] = await client.wait_for_pushes(token, lambda pushes: len(pushes) >= 1)
    arrived = datetime.now(UTC)
    cancelled = await cancel(client, later.json()["notification_id"])
    too_late = await cancel(client, soon.json()["notification_id"])

    assert push["message"]["notification"]["title"] == "Soon"
    assert arrived >= send_at
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["dropped"] == 1
    assert too_late.status_code == 409
    assert too_late.json()["error"]["code"] == "too_late"
