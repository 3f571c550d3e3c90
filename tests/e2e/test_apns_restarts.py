"""The APNs dispatcher killed with SIGKILL and restarted again and again in the middle of a run
through the whole stack: no APNs push is lost, APNs never refuses one, and a repeat is only ever
the same notification again (a batch the killed process had not committed).

Every restart signs its provider token afresh, and they all present the same one (derived per
period): the emulator's listing shows one token across every process. The APNs emulator judges
token updates per connection, as Apple does.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from services.devstack.stack import LocalStack, StackOptions
from tests.support.brokers import TEST_BROKER
from tests.support.fault_run import FaultRun, parked

pytestmark = pytest.mark.e2e

ROUNDS = 4
PER_ROUND = 400
USERS = 99
#: One device on each platform per user: every notification owes one APNs delivery.
DEVICES_PER_USER = 3
#: Time into each round's sending when the APNs dispatcher is killed.
KILL_AFTER_SECONDS = 1.0
FLOW_SECONDS = 150.0
#: The API key's send rate limit, out of the way: the kills, not 429s, should shape the run.
UNLIMITED = 100_000


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    running = LocalStack(
        StackOptions(
            prefer_default_ports=False,
            fast_group_membership=True,
            broker=TEST_BROKER,
            service_env={"HERALD_RATE_LIMIT_KEY_PER_SECOND": str(UNLIMITED)},
        )
    )
    running.start()
    try:
        yield running
    finally:
        running.stop()


def kill_and_restart(stack: LocalStack) -> None:
    dispatcher = stack.services["dispatcher-apns"]
    dispatcher.kill()
    dispatcher.start()
    dispatcher.wait_ready(time.monotonic() + 60)


@pytest.mark.timeout(400)
async def test_a_restarted_apns_dispatcher_keeps_delivering_and_loses_nothing(
    stack: LocalStack,
) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        run = await FaultRun.prepare(stack, http, USERS, DEVICES_PER_USER)
        started = time.monotonic()
        delivered_at_kills = []
        for _ in range(ROUNDS):
            sending = asyncio.create_task(run.send(PER_ROUND))
            await asyncio.sleep(KILL_AFTER_SECONDS)
            await run.collector.poll()
            delivered_at_kills.append(run.delivered())
            await asyncio.to_thread(kill_and_restart, stack)
            await sending
        outcome = await run.settle(FLOW_SECONDS)
        given_up = await parked(stack.kafka_settings())
        listing = await http.get(f"{stack.services['apns-emulator'].url}/emulator/messages")
        tokens = Counter(m["provider_token_hash"] for m in listing.json()["messages"])
    apns_owed = sum(1 for platform, _ in outcome.owed if platform == "apns")
    apns_missing = sum(n for (platform, _), n in outcome.missing.items() if platform == "apns")
    apns_repeats = sum(
        n for (platform, _), n in (outcome.received - outcome.owed).items() if platform == "apns"
    )
    print(
        f"{ROUNDS} SIGKILLs of the APNs dispatcher at {delivered_at_kills} deliveries; "
        f"{apns_owed:,} APNs pushes owed, {apns_missing} lost, {apns_repeats} repeated with the "
        f"same notification id, {len(tokens)} provider token(s) across {ROUNDS + 1} processes; "
        f"all platforms: {outcome.summary()}; "
        f"{time.monotonic() - started:.0f} s"
    )

    assert len(run.sent) == ROUNDS * PER_ROUND
    assert apns_owed == ROUNDS * PER_ROUND
    assert not outcome.missing, outcome.summary()
    assert not outcome.foreign, outcome.summary()
    assert outcome.unattributed == 0, outcome.summary()
    assert outcome.refused == 0, "APNs refused no request (no TooManyProviderTokenUpdates)"
    assert len(tokens) <= 2, "every process presents the period's token (a period may end)"
    assert given_up == {}, "nothing was parked or refused"
