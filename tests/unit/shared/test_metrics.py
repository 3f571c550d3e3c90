"""Consumer-lag arithmetic and the HTTP instruments' labels (route templates, never paths)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from shared.metrics import expose_metrics
from shared.metrics.lag import (
    LagMonitor,
    end_offset,
    gone,
    lag_samples,
    partition_lag,
    without_prefix,
)

pytestmark = pytest.mark.unit


def test_lag_is_the_end_offset_minus_the_position_and_never_negative() -> None:
    assert partition_lag(120, 100) == 20
    assert partition_lag(100, 100) == 0
    assert partition_lag(90, 100) == 0


def test_the_end_offset_is_the_larger_of_the_listed_one_and_the_fetch_watermark() -> None:
    assert end_offset(2, 5) == 5
    assert end_offset(9, 5) == 9
    assert end_offset(None, 5) == 5
    assert end_offset(7, None) == 7
    assert end_offset(None, None) is None


def test_lag_samples_use_catalog_names_and_skip_partitions_without_a_position() -> None:
    ends = {("t1.push.fcm", 0): 50, ("t1.push.fcm", 1): 7, ("t1.push.fcm", 2): 9}
    positions = {("t1.push.fcm", 0): 45, ("t1.push.fcm", 1): 7}

    samples = lag_samples("t1.dispatcher-fcm", "t1.", ends, positions)

    assert samples == {
        ("dispatcher-fcm", "push.fcm", "0"): 5,
        ("dispatcher-fcm", "push.fcm", "1"): 0,
    }


def test_names_without_the_prefix_are_kept_as_they_are() -> None:
    assert without_prefix("push.fcm", "") == "push.fcm"
    assert without_prefix("other.push.fcm", "t1.") == "other.push.fcm"


def test_partitions_a_rebalance_took_away_are_the_ones_to_drop() -> None:
    before = {("g", "push.fcm", "0"), ("g", "push.fcm", "1")}
    assert gone(before, {("g", "push.fcm", "1"): 3, ("g", "push.fcm", "2"): 0}) == {
        ("g", "push.fcm", "0")
    }


async def test_requests_are_counted_by_route_template_not_by_the_path_sent() -> None:
    app = FastAPI()

    @app.get("/v1/metered/{user_id:path}")
    async def read(user_id: str) -> dict[str, str]:
        return {"user": user_id}

    expose_metrics(app)
    labels = {"method": "GET", "route": "/v1/metered/{user_id}", "status": "200"}
    before = REGISTRY.get_sample_value("herald_http_requests_total", labels) or 0.0
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        assert (await client.get("/v1/metered/alice")).status_code == 200
        assert (await client.get("/v1/metered/org%2Fbob")).status_code == 200
        assert (await client.get("/no/such/route")).status_code == 404
        scraped = await client.get("/metrics")

    assert REGISTRY.get_sample_value("herald_http_requests_total", labels) == before + 2
    samples = [
        sample
        for family in text_string_to_metric_families(scraped.text)
        for sample in family.samples
        if sample.name == "herald_http_requests_total"
    ]
    routes = {sample.labels["route"] for sample in samples}
    assert "unmatched" in routes
    assert not any("alice" in route or "bob" in route for route in routes)


class _UnansweredSample(LagMonitor):
    """A sample that waits, as ``position()`` does on a consumer stopped under it."""

    def __init__(self) -> None:
        super().__init__(KafkaBroker(), prefix="", interval=30.0)
        self.started = asyncio.Event()
        self.cancelled = False

    async def sample(self) -> None:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise


async def test_a_sample_under_way_when_the_service_stops_is_abandoned_at_once() -> None:
    monitor = _UnansweredSample()
    stopping = asyncio.Event()
    running = asyncio.create_task(monitor.run(stopping))
    await monitor.started.wait()
    stopping.set()
    async with asyncio.timeout(1):
        await running
    assert monitor.cancelled
