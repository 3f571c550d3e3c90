"""What the services' own /metrics said at the end of a phase: the raw scrape of every Herald
service, kept beside the results, and the dispatchers' delivery and provider figures from it, so a
run's figures can be checked against what an operator's Prometheus would have seen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from services.devstack.stack import LocalStack
from tests.benchmarks.pipeline.config import HERALD_SERVICES


async def scrape(http: httpx.AsyncClient, stack: LocalStack, folder: Path) -> dict[str, Any]:
    """Write each service's /metrics text to ``folder``; return the dispatchers' summary."""
    texts = {}
    for name in HERALD_SERVICES:
        reply = await http.get(f"{stack.services[name].url}/metrics")
        reply.raise_for_status()
        texts[name] = reply.text
    keep(folder, texts)
    return {name: dispatcher_summary(text) for name, text in texts.items() if "dispatcher" in name}


def keep(folder: Path, texts: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (folder / f"{name}.prom").write_text(text)


def dispatcher_summary(text: str) -> dict[str, Any]:
    """Deliveries by outcome, provider replies by status, and the provider's mean latency."""
    outcomes: dict[str, float] = {}
    statuses: dict[str, float] = {}
    latency_sum = latency_count = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "herald_deliveries_total":
                key = sample.labels["outcome"]
                outcomes[key] = outcomes.get(key, 0.0) + sample.value
            elif sample.name == "herald_provider_replies_total":
                key = sample.labels["status"]
                statuses[key] = statuses.get(key, 0.0) + sample.value
            elif sample.name == "herald_provider_request_duration_seconds_sum":
                latency_sum += sample.value
            elif sample.name == "herald_provider_request_duration_seconds_count":
                latency_count += sample.value
    return {
        "deliveries_by_outcome": outcomes,
        "provider_replies_by_status": statuses,
        "provider_mean_ms": round(latency_sum / latency_count * 1000, 2) if latency_count else None,
    }
