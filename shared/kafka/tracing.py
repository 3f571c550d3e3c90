"""One trace per notification across Kafka: every message continues the trace its producer wrote.

A consumed batch gets one span per message, each a child of the context in its own record's
headers, and one span for the batch that links them (batch-wide work, a transaction or a retry,
shows there). Handlers work on whole batches, so what they publish cannot simply take the current
span as its parent: an output continues the input it is about (the same notification for the same
user and device, or a less specific match, ``SUBJECTS``; a dead letter the record it holds, so a
sender finds the refusal of its record in its own trace), and only when none matches the current
span: the HTTP request being served, the message a handler said it works on (``continuing``), or
the batch. The scheduler's release loop does the same with the contexts it stored beside its held
copies.

FastStream's telemetry middleware is not used: it gives a batch one span in a new trace and
publishes everything handled under it in that trace, so each hop would start a trace of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from contracts.base import Model
from contracts.notifications import SourceRecord
from shared.telemetry import context_from, headers_for, tracing_enabled

SCOPE = "herald.kafka"

#: How an output finds the input it continues, most specific first: the first input with the same
#: values of one of these field sets. A push result matches its push request, a push request the
#: counted notification of its user, a sync push the badge change of its user.
SUBJECTS: tuple[tuple[str, ...], ...] = (
    ("app_id", "notification_id", "user_id", "device_id"),
    ("app_id", "notification_id", "user_id"),
    ("app_id", "notification_id"),
    ("app_id", "user_id"),
)

Subject = tuple[tuple[str, ...], tuple[object, ...]]
Attributes = Mapping[str, AttributeValue]


def subjects(message: Model) -> list[Subject]:
    """What ``message`` is about, most specific first; a field set it lacks gives no key."""
    found: list[Subject] = []
    for names in SUBJECTS:
        values = tuple(getattr(message, name, None) for name in names)
        if None not in values:
            found.append((names, values))
    return found


def message_attributes(message: Model | None) -> dict[str, AttributeValue]:
    """Which app and notification a span is about (never the user: traces leave the cluster)."""
    attributes: dict[str, AttributeValue] = {}
    for name in ("app_id", "notification_id"):
        value = getattr(message, name, None)
        if value is not None:
            attributes[f"herald.{name}"] = str(value)
    return attributes


@dataclass(frozen=True)
class Traced:
    """One item of a traced batch: its message (None when it could not be decoded), the context
    it continues, where it was read (partition, offset) and its span's attributes."""

    message: Model | None
    parent: Context
    position: tuple[int, int] | None = None
    attributes: Attributes = field(default_factory=dict)


class TracedBatch:
    """The spans of one batch's items, found by the message they are for or about."""

    def __init__(self, spans: Sequence[tuple[Traced, Span]]) -> None:
        self._by_subject: dict[Subject, Span] = {}
        self._by_event: dict[uuid.UUID, Span] = {}
        self._by_position: dict[tuple[int, int], Span] = {}
        for item, span in spans:
            if item.position is not None:
                self._by_position[item.position] = span
            if item.message is None:
                continue
            for subject in subjects(item.message):
                self._by_subject.setdefault(subject, span)
            event_id = getattr(item.message, "event_id", None)
            if isinstance(event_id, uuid.UUID):
                self._by_event.setdefault(event_id, span)

    def span_of(self, message: Model) -> Span | None:
        """The span of this consumed message (by event id), if it is one of the batch's."""
        event_id = getattr(message, "event_id", None)
        return self._by_event.get(event_id) if isinstance(event_id, uuid.UUID) else None

    def continued_by(self, output: Model) -> Span | None:
        """The span of the input ``output`` is about, if any: a dead letter is about the record
        it holds, anything else about what ``SUBJECTS`` say."""
        source = getattr(output, "source", None)
        if isinstance(source, SourceRecord):
            return self._by_position.get((source.partition, source.offset))
        for subject in subjects(output):
            if subject in self._by_subject:
                return self._by_subject[subject]
        return None

    def failed(self, position: tuple[int, int], reason: str) -> None:
        """Mark the span of the record at ``position`` as failed (it was dead-lettered)."""
        span = self._by_position.get(position)
        if span is not None:
            span.set_status(Status(StatusCode.ERROR, reason))


_batch: ContextVar[TracedBatch | None] = ContextVar("herald_traced_batch", default=None)


@contextmanager
def traced_batch(
    name: str, items: Sequence[Traced], *, kind: SpanKind, attributes: Attributes
) -> Iterator[TracedBatch | None]:
    """Spans for a batch and each of its items, current until the block ends (None when tracing
    is off). Each item's span is named ``name``; the batch's ``name batch``."""
    if not tracing_enabled() or not items:
        yield None
        return
    tracer = trace.get_tracer(SCOPE)
    parents = [trace.get_current_span(item.parent).get_span_context() for item in items]
    with tracer.start_as_current_span(
        f"{name} batch",
        context=Context(),
        kind=kind,
        attributes={**attributes, "messaging.batch.message_count": len(items)},
        links=[Link(parent) for parent in parents if parent.is_valid],
    ) as batch_span:
        to_batch = [Link(batch_span.get_span_context())]
        spans = [
            (
                item,
                tracer.start_span(
                    name,
                    context=item.parent,
                    kind=kind,
                    attributes={**attributes, **item.attributes},
                    links=to_batch,
                ),
            )
            for item in items
        ]
        batch = TracedBatch(spans)
        token = _batch.set(batch)
        try:
            yield batch
        finally:
            _batch.reset(token)
            for _, span in spans:
                span.end()


class Record(Protocol):
    """A consumed record, decoded (shared.kafka.Received) or not (aiokafka's)."""

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...

    @property
    def headers(self) -> Sequence[tuple[str, bytes | None]] | None: ...


def consuming(
    topic: str, address: str, group: str, records: Sequence[Record]
) -> AbstractContextManager[TracedBatch | None]:
    """The spans of one consumed batch: ``process <topic>`` per record, under its producer's
    context, and ``process <topic> batch``."""
    items = [_consumed(record) for record in records] if tracing_enabled() else []
    return traced_batch(
        f"process {topic}",
        items,
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": address,
            "messaging.consumer.group.name": group,
        },
    )


def _consumed(record: Record) -> Traced:
    headers = {
        name: value.decode("latin-1") for name, value in record.headers or () if value is not None
    }
    message = getattr(record, "message", None)
    return Traced(
        message,
        context_from(headers),
        (record.partition, record.offset),
        {
            "messaging.destination.partition.id": str(record.partition),
            "messaging.kafka.offset": record.offset,
            **message_attributes(message),
        },
    )


@contextmanager
def continuing(message: Model) -> Iterator[None]:
    """Make the span of ``message``, one of the current batch's, the current span: what is
    published or sent in the block continues its trace. No-op for any other message."""
    batch = _batch.get()
    span = batch.span_of(message) if batch is not None else None
    if span is None:
        yield
        return
    with trace.use_span(span, end_on_exit=False):
        yield


def context_of(message: Model) -> dict[str, str]:
    """Headers carrying the trace context of a consumed ``message``, to store beside it (empty
    when it has none): a copy the scheduler holds continues its trace when released."""
    batch = _batch.get()
    span = batch.span_of(message) if batch is not None else None
    return headers_for(trace.set_span_in_context(span)) if span is not None else {}


def headers_continuing(output: Model) -> dict[str, str]:
    """Headers for a record of ``output``: the trace of the input it is about, else the current."""
    if not tracing_enabled():
        return {}
    batch = _batch.get()
    span = batch.continued_by(output) if batch is not None else None
    return headers_for(trace.set_span_in_context(span) if span is not None else None)
