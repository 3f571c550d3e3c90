"""Which input's trace an output continues, which exporter the settings choose, and when the
process counts as tracing.

Spans come from a tracer provider of the test's own, never the process's: nothing here turns
tracing on for other tests (the one test that installs a provider does it in a fresh interpreter).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Span

from contracts.badges import BadgeChanged
from contracts.base import Model
from services.dispatcher.domain import result
from shared.kafka.tracing import Traced, TracedBatch
from shared.settings import ObservabilitySettings
from shared.telemetry import tracer_provider
from tests.support.factories import due, push_request

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def batch_of(*inputs: Model) -> tuple[TracedBatch, list[Span]]:
    tracer = TracerProvider().get_tracer("test")
    spans = [tracer.start_span(f"input {n}") for n in range(len(inputs))]
    items = [Traced(message, Context(), (0, n)) for n, message in enumerate(inputs)]
    return TracedBatch(list(zip(items, spans, strict=True))), spans


def test_a_push_result_continues_its_own_device_s_push_among_the_user_s_others() -> None:
    notification = uuid.uuid4()
    phone, tablet = (push_request(NOW, "fcm", notification_id=notification) for _ in range(2))
    batch, spans = batch_of(phone, tablet)

    delivered = result(tablet, NOW, outcome="delivered", attempts=1)

    assert batch.continued_by(delivered) is spans[1]
    assert batch.continued_by(phone.model_copy(update={"attempt": 1})) is spans[0]


def test_an_output_continues_the_input_about_the_same_notification_and_user() -> None:
    ann, bob = due(NOW, "ann"), due(NOW, "bob", notification_id=uuid.uuid4())
    batch, spans = batch_of(ann, bob)
    for_bob = push_request(NOW, "fcm", notification_id=bob.notification_id, user_id="bob")

    assert batch.continued_by(for_bob) is spans[1]
    assert batch.continued_by(push_request(NOW, "fcm", user_id="cyd")) is None


def test_a_sync_push_continues_the_badge_change_of_its_user() -> None:
    change = BadgeChanged(
        event_id=uuid.uuid4(),
        app_id="testapp",
        occurred_at=NOW,
        user_id="ann",
        badge=0,
        badge_seq=4,
    )
    batch, spans = batch_of(change)
    sync = push_request(NOW, "fcm", user_id="ann", notification_id=change.event_id)

    assert batch.continued_by(sync) is spans[0]
    assert batch.continued_by(push_request(NOW, "fcm", user_id="bob")) is None


def test_a_consumed_message_is_found_by_its_event_id_and_a_failure_marks_its_span() -> None:
    ann = due(NOW, "ann")
    batch, spans = batch_of(ann, due(NOW, "bob"))

    assert batch.span_of(ann.model_copy()) is spans[0]
    assert batch.span_of(due(NOW, "cyd")) is None
    batch.failed((0, 1), "handler failed 5 times")
    assert [span.status.is_ok for span in spans] == [True, False]  # type: ignore[attr-defined]


def test_tracing_is_off_unless_an_exporter_is_named() -> None:
    assert ObservabilitySettings().trace_exporter == "none"
    assert tracer_provider(ObservabilitySettings(), "ingest") is None
    console = tracer_provider(ObservabilitySettings(trace_exporter="console"), "ingest")
    assert console is not None
    assert console.resource.attributes["service.name"] == "herald-ingest"
    console.shutdown()


#: Asks the cached decision before and after a provider is installed, in a fresh interpreter.
INSTALL_AFTER_ASKING = """
from opentelemetry.sdk.trace import TracerProvider
from shared.telemetry import install_tracer_provider, tracing_enabled
before = tracing_enabled(), tracing_enabled()
install_tracer_provider(TracerProvider())
print(*before, tracing_enabled())
"""


def test_tracing_counts_as_on_once_a_provider_is_installed_after_it_was_asked() -> None:
    done = subprocess.run(
        [sys.executable, "-c", INSTALL_AFTER_ASKING],
        cwd=Path(__file__).resolve().parents[3],
        env={k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    assert done.stdout.split() == ["False", "False", "True"]
