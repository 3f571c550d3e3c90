"""The webhooks' Prometheus instruments: deliveries by app and outcome, and how long POSTs take.
App ids are bounded by the apps a deployment has; no URL or webhook id is a label."""

from __future__ import annotations

from typing import Literal

from prometheus_client import Counter, Histogram

Outcome = Literal["delivered", "retry_scheduled", "parked", "dropped"]

DELIVERIES = Counter(
    "herald_webhook_deliveries_total",
    "Webhook deliveries (batches of trace events) by app and outcome: delivered (2xx), "
    "retry_scheduled (a failure, or its endpoint backing off), parked (refused, or still "
    "failing at its deadline), dropped (its webhook was deleted).",
    ["app", "outcome"],
)
EVENTS = Counter(
    "herald_webhook_events_total",
    "Trace events put in webhook deliveries, by app.",
    ["app"],
)
REQUEST_SECONDS = Histogram(
    "herald_webhook_request_duration_seconds",
    "Time from sending a POST to its answer (or failure).",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def count(app_id: str, outcome: Outcome) -> None:
    DELIVERIES.labels(app=app_id, outcome=outcome).inc()
