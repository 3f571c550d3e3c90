"""Read storms out of order: users read the notifications they got in shuffled order, each read
reported twice, while new notifications arrive and others are read the moment they are accepted,
racing their delivery or, held for later, before they come due. Every unread notification is
delivered, none read before it came due is pushed, no badge is ever negative, and each ends at
exactly the user's unread count.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.base import derived_id
from tests.benchmarks.pipeline.client import post
from tests.chaos.harness import Chaos
from tests.support.factories import unique

READ_FIRST = 3
UNREAD = 2
REPORTS_IN_FLIGHT = 16
#: Notifications held this long are read before they come due.
HOLD_SECONDS = 10.0
#: Time after they come due for a wrongly sent one to reach the provider.
AFTER_DUE_SECONDS = 5.0
#: Badge changes of one user in this scenario stay far below this.
SYNC_SEQUENCES = 500
#: Longest wait for the first notifications' deliveries, before the storm.
FIRST_DELIVERIES_SECONDS = 60.0
#: Longest wait for every badge to reach its final count once the storm is over.
BADGE_SECONDS = 60.0


async def out_of_order(chaos: Chaos) -> None:
    run, users = chaos.run, chaos.run.population.users
    await run.send(READ_FIRST * len(users))
    await run.settle(FIRST_DELIVERIES_SECONDS)
    delivered = dict(run.sent)
    chaos.step(f"{len(delivered)} notifications delivered; the read storm begins")
    reports = [(user, [nid]) for nid, user in delivered.items()] * 2
    random.shuffle(reports)
    raced: set[str] = set()
    held: set[str] = set()
    due_at = datetime.now(UTC) + timedelta(seconds=HOLD_SECONDS)
    storm_over = asyncio.Event()
    sampled = asyncio.create_task(_watch_badges(chaos, storm_over))
    await asyncio.gather(
        _report_all(chaos, reports),
        run.send(UNREAD * len(users)),
        *(_send_and_read(chaos, user, raced) for user in users),
        *(_send_and_read(chaos, user, held, send_at=due_at) for user in users),
        *(_send_held(chaos, user, due_at) for user in users),
    )
    storm_over.set()
    chaos.step("read storm over; waiting for the held notifications to come due")
    await asyncio.sleep(max(0.0, (due_at - datetime.now(UTC)).total_seconds() + AFTER_DUE_SECONDS))
    chaos.optional.update(raced | held)
    await chaos.settle(asyncio.sleep(0), 0.0)
    await sampled
    syncs = _badge_syncs(chaos)
    chaos.optional.update(syncs)
    receipts = chaos.run.collector.orphans
    pushed_anyway = held & set(receipts)
    if pushed_anyway:
        chaos.problem(f"{len(pushed_anyway)} notifications read before they came due were pushed")
    chaos.note(
        f"{len(reports)} read reports in random order; {len(raced)} notifications read as they "
        f"were accepted ({len(raced & set(receipts))} of them delivered, either is right); "
        f"{len(held)} read while held (as many held and unread); "
        f"{sum(len(receipts[s]) for s in syncs)} badge-sync pushes"
    )
    unread = {nid: user for nid, user in run.sent.items() if nid not in delivered}
    await _badges_settle(chaos, unread)


def _badge_syncs(chaos: Chaos) -> set[str]:
    """The deliveries that were badge-sync pushes. Their notification id is derived from the
    user and the badge sequence number (services/registry/reads/domain.py: sync_request), which
    stays well under SYNC_SEQUENCES for a user of this scenario."""
    app = chaos.stack.options.app_id
    candidates = {
        str(derived_id("sync", app, user, seq))
        for user in chaos.run.population.users
        for seq in range(SYNC_SEQUENCES)
    }
    return candidates & set(chaos.run.collector.orphans)


async def _report_all(chaos: Chaos, reports: list[tuple[str, list[str]]]) -> None:
    queue = iter(reports)

    async def worker() -> None:
        for user, ids in queue:
            await _report(chaos, user, ids)

    await asyncio.gather(*(worker() for _ in range(REPORTS_IN_FLIGHT)))


async def _report(chaos: Chaos, user: str, ids: list[str]) -> None:
    url = f"{chaos.stack.services['registry'].url}/v1/users/{user}/reads"
    auth = {"Authorization": f"Bearer {chaos.stack.api_key}"}
    answer = await post(chaos.http, url, auth, {"notification_ids": ids})
    if answer.status_code != 202:
        chaos.problem(f"a read report was answered {answer.status_code}: {answer.text[:200]}")


async def _send_and_read(
    chaos: Chaos, user: str, read: set[str], send_at: datetime | None = None
) -> None:
    """A notification read as soon as ingest accepted it: racing its delivery, or, held until
    ``send_at``, read before it comes due (then it must never be pushed)."""
    notification_id = await _send(chaos, user, send_at)
    if notification_id is not None:
        read.add(notification_id)
        await _report(chaos, user, [notification_id])


async def _send_held(chaos: Chaos, user: str, send_at: datetime) -> None:
    """A notification held until ``send_at`` and never read: it is owed when it comes due, which
    shows the held ones that were read did come due too."""
    notification_id = await _send(chaos, user, send_at)
    if notification_id is not None:
        chaos.run.sent[notification_id] = user


async def _send(chaos: Chaos, user: str, send_at: datetime | None) -> str | None:
    """Send one notification to ``user``; its id, or None (a problem) if ingest refused it."""
    key = unique("storm")
    body: dict[str, Any] = {
        "idempotency_key": key,
        "audience": {"user_ids": [user]},
        "content": {"title": "Read storm", "body": key},
    }
    if send_at is not None:
        body["schedule"] = {"send_at": send_at.isoformat()}
    url = f"{chaos.stack.services['ingest'].url}/v1/notifications"
    answer = await post(chaos.http, url, {"Authorization": f"Bearer {chaos.stack.api_key}"}, body)
    if answer.status_code != 202:
        chaos.problem(f"ingest answered {answer.status_code} to a send: {answer.text[:200]}")
        return None
    return str(answer.json()["notification_id"])


async def _watch_badges(chaos: Chaos, storm_over: asyncio.Event) -> None:
    """Read a few users' badges throughout the storm: none may ever be negative."""
    watched = chaos.run.population.users[:5]
    negative = 0
    while not storm_over.is_set():
        negative += sum(badge < 0 for badge in (await chaos.badges(watched)).values())
        await asyncio.sleep(0.2)
    if negative:
        chaos.problem(f"a badge read negative {negative} times during the storm")


async def _badges_settle(chaos: Chaos, unread: dict[str, str]) -> None:
    """Wait until every badge is its user's unread count and set; report the users whose is not."""
    owed: dict[str, tuple[int, set[str]]] = {
        user: (0, set()) for user in chaos.run.population.users
    }
    for notification_id, user in unread.items():
        count, ids = owed[user]
        owed[user] = (count + 1, ids | {notification_id})
    deadline = asyncio.get_running_loop().time() + BADGE_SECONDS
    while True:
        found = await chaos.run.badges()
        wrong = {user: found[user] for user in owed if found[user] != owed[user]}
        if not wrong or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.5)
    if wrong:
        user, (badge, ids) = next(iter(wrong.items()))
        chaos.problem(
            f"{len(wrong)} users' badges wrong {BADGE_SECONDS:g} s after the storm, e.g. {user}: "
            f"{badge} ({len(ids)} unread ids), owed {owed[user][0]}"
        )
