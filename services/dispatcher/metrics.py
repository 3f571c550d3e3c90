"""The dispatcher's Prometheus instruments: deliveries by outcome, the provider's replies and
latency, requests in flight, retries scheduled and apps halted for their credentials.

App ids are labels (tenants are few); tokens, devices and notifications never are. Each
labelled series is looked up once and kept (``labels()`` takes a lock and builds its key on every
call), as the bounded label values make the series few.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache

from prometheus_client import Counter, Gauge, Histogram

from contracts.push import Platform, PushRequest
from services.dispatcher.delivery import Again, Step
from services.dispatcher.domain import (
    Delivered,
    Reauthenticate,
    Rejected,
    RetryLater,
    Verdict,
)
from services.dispatcher.platforms.base import Provider

DELIVERIES = Counter(
    "herald_deliveries_total",
    "Pushes finished, by platform, app and outcome (delivered, token_invalid, failed, expired).",
    ["platform", "app", "outcome"],
)
RETRIES = Counter(
    "herald_retries_scheduled_total",
    "Pushes put on the retry topic to go again later (a passing failure or their app's pause).",
    ["platform"],
)
PROVIDER_REPLIES = Counter(
    "herald_provider_replies_total",
    "Provider attempts by what the reply meant and its HTTP status (none: no reply at all).",
    ["platform", "verdict", "status"],
)
PROVIDER_DURATION = Histogram(
    "herald_provider_request_duration_seconds",
    "Time one attempt takes at the provider: render, send and classify.",
    ["platform", "verdict"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
IN_FLIGHT = Gauge(
    "herald_provider_requests_in_flight", "Provider attempts under way now.", ["platform"]
)
CREDENTIAL_HALTS = Counter(
    "herald_credential_halts_total",
    "Pauses of an app whose provider refused its credentials as a whole (its pushes wait).",
    ["platform", "app"],
)


def verdict_label(verdict: Verdict) -> str:
    """A bounded name for what a reply meant."""
    if isinstance(verdict, Delivered):
        return "delivered"
    if isinstance(verdict, Rejected):
        return verdict.outcome
    if isinstance(verdict, RetryLater):
        return "retry"
    if isinstance(verdict, Reauthenticate):
        return "reauthenticate"
    return "pause"


def status_label(verdict: Verdict) -> str:
    """The reply's HTTP status as text, or ``none`` when no reply came."""
    status = verdict.status
    return "none" if status is None else str(status)


@cache
def _duration(platform: Platform, verdict: str) -> Histogram:
    return PROVIDER_DURATION.labels(platform=platform, verdict=verdict)


@cache
def _replies(platform: Platform, verdict: str, status: str) -> Counter:
    return PROVIDER_REPLIES.labels(platform=platform, verdict=verdict, status=status)


@cache
def _deliveries(platform: Platform, app: str, outcome: str) -> Counter:
    return DELIVERIES.labels(platform=platform, app=app, outcome=outcome)


@cache
def _retries(platform: Platform) -> Counter:
    return RETRIES.labels(platform=platform)


class MeteredProvider:
    """A provider whose every attempt is timed and counted."""

    def __init__(self, provider: Provider, platform: Platform) -> None:
        self._provider = provider
        self._platform = platform
        self._in_flight = IN_FLIGHT.labels(platform=platform)

    async def attempt(self, request: PushRequest, now: datetime) -> Verdict:
        start = time.perf_counter()
        with self._in_flight.track_inprogress():
            verdict = await self._provider.attempt(request, now)
        label = verdict_label(verdict)
        _duration(self._platform, label).observe(time.perf_counter() - start)
        _replies(self._platform, label, status_label(verdict)).inc()
        return verdict

    async def close(self) -> None:
        await self._provider.close()


def count_steps(platform: Platform, steps: Sequence[Step]) -> None:
    """Count finished pushes by outcome and pushes scheduled to go again."""
    for step in steps:
        if isinstance(step, Again):
            _retries(platform).inc()
        else:
            result = step.result
            _deliveries(platform, result.app_id, result.outcome).inc()


def halt_counter(platform: Platform) -> Callable[[str], None]:
    """What the pauses call when an app's pause begins."""

    def halted(app_id: str) -> None:
        CREDENTIAL_HALTS.labels(platform=platform, app=app_id).inc()

    return halted
