"""The webhooks' rules: signatures a receiver verifies, which events each webhook gets and in
what batches, what an answer means, and backoff up to the deadline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.trace import NotificationTraced, Stage
from contracts.webhooks import WebhookDelivery
from services.webhooks import domain
from tests.support.webhooks import verify

pytestmark = pytest.mark.unit

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
SECRET = b"whsec_test-secret"
POLICY = domain.RetryPolicy(base_delay=5, max_delay=3600, deadline=timedelta(hours=24))


@dataclass(frozen=True)
class Hook:
    webhook_id: uuid.UUID
    stages: frozenset[Stage]


def step(stage: Stage, app: str = "shop", **fields: Any) -> NotificationTraced:
    return NotificationTraced.step(
        stage,
        app_id=app,
        notification_id=uuid.uuid4(),
        occurred_at=T0,
        user_id="alice",
        **fields,
    )


def test_a_signed_body_verifies_and_any_change_or_an_old_signature_does_not() -> None:
    body = b'{"events":[]}'
    header = domain.signature(SECRET, int(T0.timestamp()), body)

    assert header.startswith(f"t={int(T0.timestamp())},v1=")
    assert verify(body, header, SECRET.decode(), now=T0.timestamp() + 10)
    assert not verify(body + b" ", header, SECRET.decode(), now=T0.timestamp())
    assert not verify(body, header, "whsec_another", now=T0.timestamp())
    assert not verify(body, header, SECRET.decode(), now=T0.timestamp() + 301)  # a replay
    later = header.replace(f"t={int(T0.timestamp())}", f"t={int(T0.timestamp()) + 100}")
    assert not verify(body, later, SECRET.decode(), now=T0.timestamp() + 100)  # time moved


def test_each_webhook_gets_the_stages_it_chose_of_its_own_app_in_batches() -> None:
    outcomes = Hook(uuid.uuid4(), frozenset({"sent", "opened"}))
    everything = Hook(uuid.uuid4(), frozenset({"accepted", "sent", "opened"}))
    other_app = Hook(uuid.uuid4(), frozenset({"sent"}))
    hooks = {"shop": [outcomes, everything], "news": [other_app]}
    events = [step("accepted"), *(step("sent", outcome="delivered") for _ in range(5))]
    events.append(step("opened"))
    events.append(step("sent", app="mail", outcome="delivered"))  # an app without webhooks

    made = domain.deliveries(
        events, lambda app: hooks.get(app, []), now=T0, max_events=4, max_bytes=1_000_000
    )

    by_hook: dict[uuid.UUID, list[WebhookDelivery]] = {}
    for delivery in made:
        by_hook.setdefault(delivery.webhook_id, []).append(delivery)
    assert [len(d.events) for d in by_hook[outcomes.webhook_id]] == [4, 2]
    assert [len(d.events) for d in by_hook[everything.webhook_id]] == [4, 3]
    assert other_app.webhook_id not in by_hook
    sent_in_order = [e for d in by_hook[outcomes.webhook_id] for e in d.events]
    assert sent_in_order == events[1:7]
    again = domain.deliveries(
        events, lambda app: hooks.get(app, []), now=T0, max_events=4, max_bytes=1_000_000
    )
    assert [d.event_id for d in again] == [d.event_id for d in made]  # same run, same ids


def test_a_batch_stops_short_of_the_byte_budget_but_never_goes_empty() -> None:
    hook = Hook(uuid.uuid4(), frozenset({"sent"}))
    events = [step("sent", outcome="delivered") for _ in range(3)]
    size = len(events[0].model_dump_json())

    made = domain.deliveries(
        events, lambda _: [hook], now=T0, max_events=50, max_bytes=size * 2 + 10
    )
    tiny = domain.deliveries(events, lambda _: [hook], now=T0, max_events=50, max_bytes=1)

    assert [len(d.events) for d in made] == [2, 1]
    assert [len(d.events) for d in tiny] == [1, 1, 1]


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, domain.Delivered),
        (204, domain.Delivered),
        (500, domain.RetryLater),
        (503, domain.RetryLater),
        (429, domain.RetryLater),
        (408, domain.RetryLater),
        (400, domain.Refused),
        (410, domain.Refused),
        (301, domain.Refused),
    ],
)
def test_what_an_answer_means(status: int, verdict: type) -> None:
    assert isinstance(domain.classify(status, None, "", T0), verdict)


def test_retry_after_is_honoured_in_seconds_and_as_a_date() -> None:
    seconds = domain.classify(429, "120", "slow down", T0)
    dated = domain.classify(503, "Fri, 01 May 2026 12:10:00 GMT", "", T0)

    assert seconds == domain.RetryLater("HTTP 429: slow down", 120.0)
    assert isinstance(dated, domain.RetryLater)
    assert dated.wait_at_least == 600.0
    assert POLICY.delay(1, jitter=0.0, wait_at_least=120.0) == 120.0


def test_backoff_doubles_with_jitter_in_the_upper_half_and_stops_at_the_maximum() -> None:
    assert [POLICY.delay(n, jitter=0.0) for n in (1, 2, 3)] == [2.5, 5.0, 10.0]
    assert [POLICY.delay(n, jitter=0.999) for n in (1, 2)] == pytest.approx([5.0, 10.0], 1e-3)
    assert POLICY.delay(40, jitter=0.0) == 1800.0
    assert POLICY.delay(40, jitter=0.999) == pytest.approx(3600.0, 1e-3)


def test_an_endpoint_that_fails_waits_longer_each_time_and_is_free_after_a_success() -> None:
    hook = uuid.uuid4()
    backoff = domain.EndpointBackoff(POLICY)

    first = backoff.failed(hook, T0, jitter=0.0)
    assert backoff.blocked_until(hook, T0) == first == T0 + timedelta(seconds=2.5)
    second = backoff.failed(hook, first, jitter=0.0)

    assert second == first + timedelta(seconds=5)
    assert backoff.blocked_until(hook, first) == second
    assert backoff.blocked_until(hook, second) is None
    assert backoff.blocked_until(uuid.uuid4(), T0) is None
    backoff.succeeded(hook)
    assert backoff.failed(hook, T0, jitter=0.0) == first


def test_a_delivery_is_retried_until_its_deadline_then_parked() -> None:
    delivery = WebhookDelivery(
        event_id=uuid.uuid4(),
        app_id="shop",
        occurred_at=T0,
        webhook_id=uuid.uuid4(),
        events=[step("sent", outcome="delivered")],
    )

    again = domain.rescheduled(
        delivery,
        now=T0,
        not_before=T0 + timedelta(seconds=5),
        reason="HTTP 503",
        attempted=True,
        policy=POLICY,
    )
    assert again is not None
    assert (again.attempt, again.deadline) == (1, T0 + timedelta(hours=24))
    waited = domain.rescheduled(
        again,
        now=T0,
        not_before=T0 + timedelta(hours=23),
        reason="waiting",
        attempted=False,
        policy=POLICY,
    )
    assert waited is not None
    assert (waited.attempt, waited.deadline) == (1, again.deadline)
    late = T0 + timedelta(hours=24, seconds=1)
    assert (
        domain.rescheduled(
            again, now=T0, not_before=late, reason="HTTP 503", attempted=True, policy=POLICY
        )
        is None
    )


def test_an_apps_outcome_stream_takes_the_ends_of_stories_of_known_apps_only() -> None:
    def traced(stage: Stage, app_id: str) -> NotificationTraced:
        return NotificationTraced.step(
            stage, app_id=app_id, notification_id=uuid.uuid4(), occurred_at=T0, user_id="u"
        )

    events = [traced("sent", "shop"), traced("held", "shop"), traced("sent", "gone")]

    assert domain.outcomes(events, lambda app_id: app_id == "shop") == events[:1]
