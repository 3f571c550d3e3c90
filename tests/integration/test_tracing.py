"""One trace per notification: trace context in Kafka headers, spans per message, OTLP export.

The chain test runs every service of one push's path in this process with its own ``build()``
(ingest, scheduler, badge-count, registry, the FCM dispatcher) on the session's broker and a fresh
PostgreSQL database, against the FCM emulator, and follows the HTTP send to the provider request
span by span: a hop that started a trace of its own would break the walk.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import SecretStr

from contracts import topics
from contracts.base import derived_id
from contracts.codec import encode
from contracts.deadletter import DeadLetter
from contracts.notifications import NotificationCounted, NotificationDue
from contracts.push import PushResult
from services.badge_count.app import build as build_badge_count
from services.badge_count.settings import BadgeCountSettings
from services.dispatcher.app import build as build_dispatcher
from services.dispatcher.settings import DispatcherSettings
from services.ingest.app import build as build_ingest
from services.ingest.settings import IngestSettings
from services.registry.app import build as build_registry
from services.registry.settings import RegistrySettings
from services.scheduler.app import build as build_scheduler
from services.scheduler.settings import SchedulerSettings
from shared.embedded.brokers import LocalBroker
from shared.embedded.ports import free_port
from shared.embedded.postgres import EmbeddedPostgres
from shared.http import create_http_app
from shared.kafka import Bus, Received, Rejection, create_bus, subscribe
from shared.runtime import ServiceParts, prepare_topics
from shared.secrets import SecretBox, new_secrets_key
from shared.settings import HttpSettings, ObservabilitySettings
from shared.telemetry import tracer_provider
from shared.tenancy.auth import key_digest, new_api_key
from tests.support.clock import FrozenClock
from tests.support.factories import FCM_TOKEN, due, submitted, unique
from tests.support.fcm import fcm_emulator
from tests.support.intake import announce_intake_keys
from tests.support.kafka import TopicIO, kafka_settings_for_test
from tests.support.registry import eventually
from tests.support.scheduler import fresh_database
from tests.support.services import running
from tests.support.tracing import (
    attribute,
    ids,
    in_trace,
    named,
    parent_id,
    recorded_spans,
    traceparent,
)

pytestmark = pytest.mark.integration

APP = "traced"
DUE_DLQ = "notifications.due.dlq"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with recorded_spans() as exporter:
        yield exporter


def trace_id_of(headers: Sequence[tuple[str, bytes]]) -> int:
    """The trace id of a record's traceparent header."""
    value = dict(headers)["traceparent"].decode()
    return int(value.split("-")[1], 16)


class CountingHandler:
    """Publishes a counted notification per due one in one call, as badge-count does; refuses
    the users named poison."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def __call__(self, batch: Sequence[Received[NotificationDue]]) -> Sequence[Rejection]:
        ours = [item for item in batch if not item.message.user_id.startswith("poison")]
        await self.bus.publish_all((topics.COUNTED, counted_from(item.message)) for item in ours)
        return [Rejection(item, "poisoned") for item in batch if item not in ours]


def counted_from(due_event: NotificationDue) -> NotificationCounted:
    fields = due_event.model_dump(exclude={"type", "version", "event_id"})
    return NotificationCounted(**fields, event_id=derived_id(due_event.event_id, "counted"))


async def test_each_message_of_a_batch_continues_its_own_trace(
    broker: LocalBroker, spans: InMemorySpanExporter
) -> None:
    kafka = kafka_settings_for_test(broker.bootstrap)
    clock = FrozenClock()
    await prepare_topics(kafka)
    bus = create_bus(kafka, client_id="tracing-test")
    subscribe(bus, topics.DUE, group="tracing-test", handler=CountingHandler(bus), clock=clock)
    io = TopicIO(kafka)
    users = ["ann", "bob", "cyd", "poison-dan"]
    messages = [due(clock.now(), user) for user in users]
    producers = {user: (uuid.uuid4().int, uuid.uuid4().int >> 64) for user in [*users, "bad"]}
    for user, message in zip(users, messages, strict=True):
        await io.produce_raw(
            topics.DUE,
            (user.encode(), encode(message)),
            headers=[("traceparent", traceparent(*producers[user]).encode())],
        )
    await io.produce_raw(
        topics.DUE,
        (b"bad", b'{"type": "notification.due"'),
        headers=[("traceparent", traceparent(*producers["bad"]).encode())],
    )
    parts = ServiceParts(
        name="tracing-test",
        bus=bus,
        http_app=create_http_app(title="t", description="t"),
        http=HttpSettings(http_port=free_port()),
    )
    async with running(parts):
        outputs = await io.read(topics.COUNTED, until=lambda found: len(found) >= 3, decoded=False)
        parked = await io.read(
            topics.by_name(DUE_DLQ), until=lambda found: len(found) >= 2, decoded=False
        )

    by_notification = {m.notification_id: m.user_id for m in messages}
    for record in outputs:
        user = by_notification[counted_of(record).notification_id]
        assert trace_id_of(record.headers) == producers[user][0], user
    for record in parked:
        key = DeadLetter.model_validate_json(record.value).source.key or b""
        assert trace_id_of(record.headers) == producers[key.decode()][0], key
    finished = spans.get_finished_spans()
    processed = named(finished, "process notifications.due")
    batches = named(finished, "process notifications.due batch")
    links = {link.context.span_id for batch in batches for link in batch.links}
    for user, (trace_id, span_id) in producers.items():
        [span] = in_trace(processed, trace_id)
        assert span.parent is not None
        assert span.parent.span_id == span_id, user
        assert span.kind is SpanKind.CONSUMER
        assert span_id in links, f"no batch span links {user}'s message"
        failed = span.status.status_code is StatusCode.ERROR
        assert failed == (user in {"poison-dan", "bad"}), user
    assert all(
        batch.context is not None
        and batch.context.trace_id not in {t for t, _ in producers.values()}
        for batch in batches
    )


def counted_of(record: Any) -> NotificationCounted:
    return NotificationCounted.model_validate_json(record.value)


class _Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP collector that keeps what it is sent."""

    received: list[tuple[str, str | None, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append((self.path, self.headers.get("content-type"), body))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads what arrived."""


def test_spans_go_to_an_otlp_collector_when_the_setting_says_so() -> None:
    received: list[tuple[str, str | None, bytes]] = []
    handler = type("Collector", (_Collector,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
        settings = ObservabilitySettings(trace_exporter="otlp", trace_otlp_endpoint=endpoint)
        provider = tracer_provider(settings, "ingest")
        assert provider is not None
        provider.get_tracer("test").start_span("accept").end()
        assert provider.force_flush(timeout_millis=10_000)
        provider.shutdown()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

    [(path, content_type, body)] = received
    assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
    [resources] = ExportTraceServiceRequest.FromString(body).resource_spans
    service = {a.key: a.value.string_value for a in resources.resource.attributes}
    assert service["service.name"] == "herald-ingest"
    assert [s.name for scope in resources.scope_spans for s in scope.spans] == ["accept"]


#: The spans every notification's trace holds after ingest's, in order, with their consumer groups.
HOPS = [
    ("process notifications.user", "scheduler"),
    ("release", None),
    ("process notifications.due", "badge-count"),
    ("process notifications.counted", "registry-fanout"),
    ("process push.fcm", "dispatcher-fcm"),
]
#: A push FCM answered 503 the first time goes on through the retry topic.
RETRY_HOP = ("process push.fcm.retry", "dispatcher-fcm-retry")


def delivered_path(spans: Sequence[ReadableSpan], sender_span_id: int) -> list[ReadableSpan]:
    """The spans from the sender's request down to the FCM request that delivered, root first:
    each one's parent is the one before. Stops where a parent is missing (a hop started a trace)."""
    by_id = {ids(span)[1]: span for span in spans}
    delivered = [
        s for s in named(spans, "push fcm") if attribute(s, "http.response.status_code") == 200
    ]
    assert len(delivered) == 1, f"a trace that stops short: {sorted(s.name for s in spans)}"
    path = delivered
    while (parent := parent_id(path[0])) in by_id:
        path.insert(0, by_id[parent])
    assert parent_id(path[0]) == sender_span_id, [span.name for span in path]
    return path


def assert_one_trace(
    spans: Sequence[ReadableSpan], sender: tuple[int, int], prefix: str, *, retried: bool
) -> str:
    """Check the trace the sender started: a span per service from the send to the FCM request
    (through the retry topic when ``retried``), the request heard by the emulator, the result read
    back in the same trace. Returns the name of ingest's span."""
    traced = in_trace(spans, sender[0])
    path = delivered_path(traced, sender[1])
    hops = [*HOPS, RETRY_HOP] if retried else HOPS
    assert [span.name for span in path[1:]] == [name for name, _ in hops] + ["push fcm"]
    groups = [attribute(span, "messaging.consumer.group.name") for span in path[1:-1]]
    assert groups == [None if group is None else f"{prefix}{group}" for _, group in hops]
    push = path[-1]
    assert push.kind is SpanKind.CLIENT
    heard = [span.kind for span in traced if parent_id(span) == ids(push)[1]]
    assert heard == [SpanKind.SERVER], "the FCM emulator got no traceparent"
    refused = [s for s in named(traced, "push fcm") if s is not push]
    assert [attribute(s, "http.response.status_code") for s in refused] == [503] * retried
    first_try = path[len(HOPS)]
    assert all(parent_id(s) == ids(first_try)[1] for s in refused)
    [results] = named(traced, "process push.results")
    assert parent_id(results) == ids(path[-2])[1]
    return path[0].name


async def test_one_trace_from_the_send_to_the_provider_request(
    broker: LocalBroker, postgres: EmbeddedPostgres, spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    kafka = kafka_settings_for_test(broker.bootstrap, consumer_fetch_max_wait_ms=50)
    key = new_api_key()
    common: dict[str, Any] = {
        **kafka.model_dump(),
        "database_dsn": SecretStr(await fresh_database(postgres.dsn)),
        "secrets_keys": [SecretStr(new_secrets_key())],
        "api_keys": {APP: [key_digest(key)]},
    }
    ingest = IngestSettings(**common, http_port=free_port())
    registry = RegistrySettings(**common, http_port=free_port())
    intake = await announce_intake_keys(kafka, SecretBox(ingest), APP)
    over_http, over_kafka = ((uuid.uuid4().int, uuid.uuid4().int >> 64) for _ in range(2))

    def results_processed(count: int) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return len(named(spans.get_finished_spans(), "process push.results")) >= count

        return check

    async with fcm_emulator(tmp_path) as emulator, AsyncExitStack() as services:
        dispatcher = DispatcherSettings(
            **common,
            http_port=free_port(),
            dispatcher_retry_base_delay_seconds=0.05,
            **emulator.dispatcher_settings(),
        )
        parts = await asyncio.gather(
            build_registry(registry),
            build_dispatcher(dispatcher),
            build_badge_count(BadgeCountSettings(**common, http_port=free_port())),
            build_scheduler(SchedulerSettings(**common, http_port=free_port())),
            build_ingest(ingest),
        )
        await asyncio.gather(*(services.enter_async_context(running(p)) for p in parts))
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}) as http:
            device = await http.post(
                f"http://127.0.0.1:{registry.http_port}/v1/devices",
                json={"user_id": "alice", "platform": "fcm", "token": FCM_TOKEN},
            )
            assert device.status_code in (200, 201), device.text
            sent = await http.post(
                f"http://127.0.0.1:{ingest.http_port}/v1/notifications",
                json={
                    "idempotency_key": unique("traced"),
                    "audience": {"user_ids": ["alice"]},
                    "content": {"title": "Traced", "body": "From the send to the provider"},
                },
                headers={"traceparent": traceparent(*over_http)},
            )
            assert sent.status_code == 202, sent.text
        await eventually(results_processed(1))
        await emulator.control("/emulator/faults", {"status": 503, "count": 1})
        event = submitted(datetime.now(UTC), ["alice"], app_id=APP)
        await TopicIO(kafka, intake[APP].signer).produce_raw(
            topics.SUBMITTED,
            (event.idempotency_key.encode(), encode(event)),
            headers=[("traceparent", traceparent(*over_kafka).encode())],
        )
        await eventually(results_processed(2))
        results = await TopicIO(kafka).read(topics.RESULTS, until=lambda found: len(found) >= 2)

    assert [r.outcome for r in results if isinstance(r, PushResult)] == ["delivered"] * 2
    finished = spans.get_finished_spans()
    prefix = kafka.topic_prefix
    http_root = assert_one_trace(finished, over_http, prefix, retried=False)
    intake_root = assert_one_trace(finished, over_kafka, prefix, retried=True)
    assert (http_root, intake_root) == ("POST /v1/notifications", "process notifications.submitted")
