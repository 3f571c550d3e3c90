"""What an idle service holds is mostly what it imports: the probe-only services (scheduler,
dispatchers, webhooks) load no FastAPI, and no service loads the tracing SDK, the OTLP exporter
or the FastAPI instrumentation unless tracing is configured. A fresh interpreter shows it."""

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
print(json.dumps({"probe_only": probe_only, "tracing": loaded(json.loads(sys.argv[3]))}))
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
