"""Every service's /metrics moves with one push to a user with a device on every platform."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.devstack.stack import LocalStack
from tests.support.factories import apns_token, unique
from tests.support.stack_client import StackClient

pytestmark = pytest.mark.e2e

PLATFORMS = ("apns", "fcm", "webpush")
SERVICES = (
    "ingest",
    "scheduler",
    "badge-count",
    "registry",
    *(f"dispatcher-{platform}" for platform in PLATFORMS),
    "tracker",
    "webhooks",
)
#: The lag is sampled every 10 s; the rest moves within a second of the push arriving.
SETTLE_SECONDS = 45.0


@dataclass(frozen=True)
class Expect:
    """A sum of samples (a metric name and the labels they must carry) that must grow."""

    service: str
    name: str
    labels: Mapping[str, str]

    def total(self, scrape: list[tuple[str, dict[str, str], float]]) -> float:
        return sum(
            value
            for name, labels, value in scrape
            if name == self.name and all(labels.get(k) == v for k, v in self.labels.items())
        )


def expectations() -> list[Expect]:
    found = [
        Expect("ingest", "herald_ingest_accepted_total", {"source": "http", "replayed": "false"}),
        Expect("ingest", "herald_messages_produced_total", {"topic": "notifications.user"}),
        Expect(
            "ingest",
            "herald_http_requests_total",
            {"route": "/v1/notifications", "status": "202"},
        ),
        Expect("scheduler", "herald_messages_consumed_total", {"topic": "notifications.user"}),
        Expect(
            "scheduler", "herald_handler_duration_seconds_count", {"topic": "notifications.user"}
        ),
        Expect("scheduler", "herald_scheduler_released_total", {}),
        Expect("badge-count", "herald_messages_consumed_total", {"topic": "notifications.due"}),
        Expect("badge-count", "herald_badge_changes_total", {"cause": "delivery"}),
        Expect("registry", "herald_messages_consumed_total", {"topic": "notifications.counted"}),
        Expect("registry", "herald_messages_consumed_total", {"topic": "push.results"}),
        Expect("registry", "herald_http_requests_total", {"route": "/v1/devices", "status": "201"}),
        Expect("tracker", "herald_messages_consumed_total", {"topic": "notifications.trace"}),
        Expect("tracker", "herald_tracker_steps_total", {"stage": "accepted"}),
        Expect("webhooks", "herald_messages_consumed_total", {"topic": "notifications.trace"}),
    ]
    for platform in PLATFORMS:
        service = f"dispatcher-{platform}"
        found += [
            Expect("registry", "herald_fanout_pushes_total", {"platform": platform}),
            Expect(service, "herald_messages_consumed_total", {"topic": f"push.{platform}"}),
            Expect(
                service,
                "herald_deliveries_total",
                {"platform": platform, "outcome": "delivered"},
            ),
            Expect(
                service,
                "herald_provider_request_duration_seconds_count",
                {"platform": platform, "verdict": "delivered"},
            ),
            Expect(service, "herald_messages_produced_total", {"topic": "push.results"}),
            Expect(service, "herald_messages_produced_total", {"topic": "notifications.trace"}),
            Expect("tracker", "herald_tracker_steps_total", {"stage": "sent"}),
        ]
    return found


async def scrape(http: httpx.AsyncClient, url: str) -> list[tuple[str, dict[str, str], float]]:
    response = await http.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    assert response.headers["content-type"].startswith("text/plain")
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    ]


@pytest.fixture
async def client(stack: LocalStack) -> AsyncIterator[StackClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield StackClient(stack, http)


async def register(client: StackClient, user: str, platform: str, token: str) -> None:
    response = await client.http.post(
        client.url("registry", "/v1/devices"),
        headers=client.auth,
        json={"user_id": user, "platform": platform, "token": token},
    )
    assert response.status_code == 201, response.text


async def test_every_service_counts_a_push_on_its_metrics_endpoint(client: StackClient) -> None:
    async def scrape_all() -> dict[str, list[tuple[str, dict[str, str], float]]]:
        return {s: await scrape(client.http, client.url(s, "/metrics")) for s in SERVICES}

    before = await scrape_all()
    expected = expectations()
    user = unique("user")
    subscription = await client.http.post(client.url("webpush-emulator", "/emulator/subscriptions"))
    subscription.raise_for_status()
    for platform, token in (
        ("apns", apns_token()),
        ("fcm", f"{unique('fcm')}:{'M' * 40}"),
        ("webpush", json.dumps(subscription.json())),
    ):
        await register(client, user, platform, token)
    sent = await client.send(
        {
            "idempotency_key": unique("key"),
            "audience": {"user_ids": [user]},
            "content": {"title": "Counted", "body": "by every service"},
        }
    )
    assert sent.status_code == 202, sent.text

    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        after = await scrape_all()
        still = [e for e in expected if e.total(after[e.service]) <= e.total(before[e.service])]
        unsampled = [
            s
            for s in SERVICES
            if not any(name == "herald_consumer_lag_messages" for name, _, _ in after[s])
        ]
        if (not still and not unsampled) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert not still, "did not move: " + ", ".join(f"{e.service} {e.name}{e.labels}" for e in still)
    assert not unsampled, f"no consumer lag sampled by {unsampled}"
