"""Ten identical sends at once (the same idempotency key and body, as a client retrying on a
timeout does): every one is answered 202 with the same notification id, and the notification is
delivered once to each of the user's devices.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from tests.benchmarks.pipeline.client import post
from tests.chaos.harness import Chaos
from tests.support.factories import unique

COPIES = 10


async def ten_concurrent_identical_sends(chaos: Chaos) -> None:
    groups = chaos.scale.pick(100, 30)
    url = f"{chaos.stack.services['ingest'].url}/v1/notifications"
    auth = {"Authorization": f"Bearer {chaos.stack.api_key}"}
    statuses: Counter[int] = Counter()
    split = 0

    async def group(user: str) -> None:
        nonlocal split
        key = unique("same")
        body: dict[str, Any] = {
            "idempotency_key": key,
            "audience": {"user_ids": [user]},
            "content": {"title": "Sent ten times", "body": key},
        }
        answers = await asyncio.gather(*(post(chaos.http, url, auth, body) for _ in range(COPIES)))
        statuses.update(answer.status_code for answer in answers)
        ids = {a.json()["notification_id"] for a in answers if a.status_code == 202}
        split += len(ids) > 1
        for notification_id in ids:
            chaos.run.sent[notification_id] = user

    users = chaos.run.population.users
    await asyncio.gather(*(group(users[n % len(users)]) for n in range(groups)))
    # Server errors are counted by the harness for every scenario.
    refused = {status: n for status, n in statuses.items() if status != 202 and status < 500}
    chaos.step(f"{groups} groups of {COPIES} identical sends answered")
    chaos.note(f"{groups} groups of {COPIES} identical sends")
    if refused:
        chaos.problem(
            f"of {groups * COPIES} identical sends, "
            + ", ".join(f"{n} answered {status}" for status, n in sorted(refused.items()))
        )
    if split:
        chaos.problem(f"{split} groups got more than one notification id")
    await chaos.settle(asyncio.sleep(0), 0.0)
