"""Crash a service with SIGKILL while notifications flow: after a restart nothing is lost or
counted twice."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from contracts import topics
from services.devstack.stack import LocalStack
from tests.support.factories import submitted, unique
from tests.support.stack_client import StackClient

pytestmark = pytest.mark.e2e

TOTAL = 300


@pytest.fixture
async def client(stack: LocalStack) -> AsyncIterator[StackClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield StackClient(stack, http)


def restart(stack: LocalStack, name: str) -> None:
    service = stack.services[name]
    service.start()
    service.wait_ready(time.monotonic() + 60)


@pytest.mark.parametrize("victim", ["badge-count", "dispatcher-fcm"])
async def test_a_killed_service_loses_nothing_after_restart(
    client: StackClient, victim: str
) -> None:
    user = unique("user")
    token = await client.register_fcm_device(user)
    app = client.stack.options.app_id
    events = [
        submitted(
            datetime.now(UTC),
            [user],
            app_id=app,
            content={"title": f"n{i:04d}", "body": f"n{i:04d} body"},
        )
        for i in range(TOTAL)
    ]

    await client.topics.produce(topics.SUBMITTED, *events[: TOTAL // 2])
    await client.wait_for_pushes(token, lambda found: len(found) >= 1)
    client.stack.services[victim].kill()
    at_kill = len(await client.pushes_to(token))
    await client.topics.produce(topics.SUBMITTED, *events[TOTAL // 2 :])
    restart(client.stack, victim)
    pushes = await client.wait_for_pushes(
        token,
        lambda found: len({p["message"]["notification"]["title"] for p in found}) >= TOTAL,
        timeout=90,
    )

    assert at_kill < TOTAL // 2, "the kill must land while the first half is still flowing"
    badges_by_title: dict[str, set[int]] = defaultdict(set)
    for push in pushes:
        message = push["message"]
        badges_by_title[message["notification"]["title"]].add(
            int(message["android"]["notification"]["notification_count"])
        )
    assert set(badges_by_title) == {f"n{i:04d}" for i in range(TOTAL)}
    assert all(len(badges) == 1 for badges in badges_by_title.values())
    assert sorted(b for badges in badges_by_title.values() for b in badges) == list(
        range(1, TOTAL + 1)
    )
