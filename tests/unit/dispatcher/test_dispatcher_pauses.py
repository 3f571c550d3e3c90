"""Pauses per app: a provider's refusal of one app's credentials holds that app's pushes, untouched,
until its credentials change or the pause ends, while other apps' pushes go out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from contracts.push import PushRequest
from services.dispatcher.delivery import Again, Deliverer, Done, step_all
from services.dispatcher.domain import Delivered, Pause, PausePolicy, RetryPolicy, Verdict
from services.dispatcher.pauses import Pauses
from tests.support.clock import FrozenClock
from tests.support.factories import push_request

pytestmark = pytest.mark.unit

POLICY = PausePolicy(first=30.0, longest=300.0)


class Revisions:
    """The credential revision of each app, as the tenant directory would tell it."""

    def __init__(self) -> None:
        self.of: dict[str, int | None] = {}

    def __call__(self, app_id: str) -> int | None:
        return self.of.get(app_id)


class RefusesApp:
    """Refuses every push of the apps in ``refused`` (bad credentials), delivers the others."""

    def __init__(self, *refused: str, latency: float = 0.0) -> None:
        self.refused = set(refused)
        self.latency = latency
        self.sent: list[str] = []

    async def attempt(self, request: PushRequest, now: datetime) -> Verdict:
        self.sent.append(request.app_id)
        await asyncio.sleep(self.latency)
        if request.app_id in self.refused:
            return Pause("403 InvalidProviderToken", 403)
        return Delivered(200, "id")

    async def close(self) -> None:
        return None


def setup(provider: RefusesApp) -> tuple[Deliverer, FrozenClock, Revisions]:
    clock = FrozenClock()
    revisions = Revisions()
    pauses = Pauses(POLICY, revisions)
    policy = RetryPolicy(base_delay=1.0, max_delay=60.0)
    return Deliverer(provider, clock, policy, pauses, jitter=lambda: 0.0), clock, revisions


@pytest.mark.parametrize(
    ("strikes", "retry_after", "seconds"),
    [
        (1, 0.0, 30.0),
        (2, 0.0, 60.0),
        (4, 0.0, 240.0),
        (5, 0.0, 300.0),
        (9, 0.0, 300.0),
        (1, 90.0, 90.0),
        (5, 900.0, 900.0),
    ],
)
def test_a_pause_doubles_with_each_refusal_in_a_row_up_to_the_longest(
    strikes: int, retry_after: float, seconds: float
) -> None:
    assert POLICY.length(strikes, wait_at_least=retry_after) == seconds


async def test_a_refused_app_waits_untouched_while_another_app_is_delivered() -> None:
    provider = RefusesApp("revoked")
    subject, clock, _ = setup(provider)
    requests = [
        push_request(clock.now(), "apns", app_id=app, attempt=1)
        for app in ("revoked", "good", "revoked", "good", "revoked")
    ]

    steps = await step_all(subject, requests)

    delivered = [s for s in steps if isinstance(s, Done)]
    held = [s for s in steps if isinstance(s, Again)]
    assert [d.result.app_id for d in delivered] == ["good", "good"]
    assert all(d.result.attempts == 2 for d in delivered)
    assert [h.request.app_id for h in held] == ["revoked"] * 3
    assert {h.request.attempt for h in held} == {1}
    assert {h.request.not_before for h in held} == {clock.now() + timedelta(seconds=30)}


async def test_while_paused_the_provider_is_not_asked_and_at_the_end_it_is() -> None:
    provider = RefusesApp("revoked")
    subject, clock, _ = setup(provider)
    first = await subject.step(push_request(clock.now(), "apns", app_id="revoked"))
    provider.sent.clear()

    clock.advance(seconds=29)
    during = await subject.step(push_request(clock.now(), "apns", app_id="revoked"))
    clock.advance(seconds=1)
    after = await subject.step(push_request(clock.now(), "apns", app_id="revoked"))

    assert isinstance(first, Again)
    assert isinstance(during, Again)
    assert during.request.not_before == first.request.not_before
    assert provider.sent == ["revoked"]
    assert isinstance(after, Again)
    assert after.request.not_before == clock.now() + timedelta(seconds=60)


async def test_new_credentials_end_the_pause_at_once() -> None:
    provider = RefusesApp("revoked")
    subject, clock, revisions = setup(provider)
    revisions.of["revoked"] = 1
    held = await subject.step(push_request(clock.now(), "apns", app_id="revoked"))
    assert isinstance(held, Again)

    revisions.of["revoked"] = 2
    provider.refused.clear()
    clock.advance(seconds=5)

    assert subject.due(held.request) == clock.now()
    delivered = await subject.step(held.request)
    assert isinstance(delivered, Done)
    assert (delivered.result.outcome, delivered.result.attempts) == ("delivered", 1)


async def test_a_push_whose_ttl_ends_during_the_pause_comes_back_for_a_last_try() -> None:
    provider = RefusesApp("revoked")
    subject, clock, _ = setup(provider)
    request = push_request(clock.now(), "apns", app_id="revoked", options={"ttl_seconds": 10})

    held = await subject.step(request)
    assert isinstance(held, Again)
    assert held.request.not_before == clock.now() + timedelta(seconds=9)
    clock.advance(seconds=9)
    expired = await subject.step(held.request)

    assert isinstance(expired, Done)
    assert (expired.result.outcome, expired.result.attempts) == ("expired", 0)
    assert expired.result.reason == (
        "TTL ran out while its app was paused: 403 InvalidProviderToken"
    )
    assert expired.dead_letter is None


async def test_a_delivery_forgets_the_apps_pauses() -> None:
    provider = RefusesApp("flaky")
    subject, clock, _ = setup(provider)
    await subject.step(push_request(clock.now(), "apns", app_id="flaky"))
    clock.advance(seconds=30)
    provider.refused.clear()
    await subject.step(push_request(clock.now(), "apns", app_id="flaky"))
    provider.refused.add("flaky")

    again = await subject.step(push_request(clock.now(), "apns", app_id="flaky"))

    assert isinstance(again, Again)
    assert again.request.not_before == clock.now() + timedelta(seconds=30)


async def test_when_a_pause_ends_one_push_probes_and_the_others_wait_for_its_verdict() -> None:
    provider = RefusesApp("revoked", latency=0.01)
    subject, clock, _ = setup(provider)
    await subject.step(push_request(clock.now(), "apns", app_id="revoked"))
    clock.advance(seconds=30)
    provider.sent.clear()

    steps = await step_all(
        subject, [push_request(clock.now(), "apns", app_id="revoked") for _ in range(20)]
    )

    assert provider.sent == ["revoked"]
    assert all(isinstance(s, Again) for s in steps)
    assert {s.request.not_before for s in steps if isinstance(s, Again)} == {
        clock.now() + timedelta(seconds=60)
    }


async def test_after_a_successful_probe_the_waiting_pushes_all_go() -> None:
    provider = RefusesApp("revoked", latency=0.01)
    subject, clock, _ = setup(provider)
    await subject.step(push_request(clock.now(), "apns", app_id="revoked"))
    clock.advance(seconds=30)
    provider.refused.clear()
    provider.sent.clear()

    steps = await step_all(
        subject, [push_request(clock.now(), "apns", app_id="revoked") for _ in range(20)]
    )

    assert len(provider.sent) == 20
    assert all(isinstance(s, Done) and s.result.outcome == "delivered" for s in steps)


def test_each_pause_that_begins_is_told_once_and_concurrent_refusals_are_not() -> None:
    started: list[str] = []
    pauses = Pauses(POLICY, Revisions(), on_pause=started.append)
    now = datetime(2026, 1, 1, tzinfo=UTC)

    pauses.pause("app-a", now, "403 InvalidProviderToken", wait_at_least=0.0)
    pauses.pause("app-a", now + timedelta(seconds=1), "403 again", wait_at_least=0.0)
    pauses.pause("app-b", now, "403 InvalidProviderToken", wait_at_least=0.0)
    pauses.pause("app-a", now + timedelta(seconds=31), "403 after the pause", wait_at_least=0.0)

    assert started == ["app-a", "app-b", "app-a"]
