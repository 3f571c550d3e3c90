"""What an idle service holds is mostly what it imports: the probe-only services (scheduler,
dispatchers, webhooks) load no FastAPI, no service loads the tracing SDK, the OTLP exporter
or the FastAPI instrumentation unless tracing is configured, and importing a service builds the
validators of no contract model but the public requests FastAPI takes as bodies. A fresh
interpreter shows it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]

PROBE_ONLY = [
    "services.scheduler.__main__",
    "services.webhooks.__main__",
    "services.dispatcher.__main__",
    *(f"services.dispatcher.platforms.{p}.provider" for p in ("apns", "fcm", "webpush")),
]
WITH_API = [
    "services.ingest.__main__",
    "services.registry.__main__",
    "services.badge_count.__main__",
    "services.tracker.__main__",
]
TRACING_ONLY = [
    "opentelemetry.sdk",
    "opentelemetry.exporter",
    "opentelemetry.instrumentation",
    "google.protobuf",
]

PROGRAM = """
import importlib, json, sys
def loaded(prefixes):
    return sorted(m for m in sys.modules if any(m == p or m.startswith(p + ".") for p in prefixes))
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
probe_only = loaded(["fastapi"])
for name in json.loads(sys.argv[2]):
    importlib.import_module(name)
from contracts.base import Model, PublicRequest
def models(base):
    found = set(base.__subclasses__())
    for sub in base.__subclasses__():
        found |= models(sub)
    return found
contract_models = [m for m in models(Model) if m.__module__.startswith("contracts.")]
print(json.dumps({
    "probe_only": probe_only,
    "tracing": loaded(json.loads(sys.argv[3])),
    "built": sorted(m.__name__ for m in contract_models if m.__pydantic_complete__),
    "public": sorted(m.__name__ for m in contract_models if issubclass(m, PublicRequest)),
}))
"""


@pytest.fixture(scope="module")
def loaded() -> dict[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, *map(json.dumps, (PROBE_ONLY, WITH_API, TRACING_ONLY))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    found: dict[str, list[str]] = json.loads(done.stdout)
    return found


def test_probe_only_services_do_not_import_fastapi(loaded: dict[str, list[str]]) -> None:
    assert loaded["probe_only"] == []


def test_no_service_imports_the_tracing_sdk_until_it_traces(loaded: dict[str, list[str]]) -> None:
    assert loaded["tracing"] == []


def test_contract_validators_are_built_on_first_use(loaded: dict[str, list[str]]) -> None:
    assert "NotificationRequest" in loaded["built"]  # ingest's request body
    assert set(loaded["built"]) <= set(loaded["public"])
