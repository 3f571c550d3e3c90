"""Spans recorded in memory, for tests that follow a trace through services in this process.

OpenTelemetry lets a process install its tracer provider once: the first test that records spans
installs one and the process traces from then on, as a service with an exporter would. Each test
gets an exporter of its own, stopped when the test ends, so later spans go nowhere.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.telemetry import install_tracer_provider


@contextmanager
def recorded_spans() -> Iterator[InMemorySpanExporter]:
    """Every span that ends inside the block, as it ends."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider(resource=Resource.create({"service.name": "herald-tests"}))
        install_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        yield exporter
    finally:
        exporter.shutdown()


def traceparent(trace_id: int, span_id: int) -> str:
    """A W3C traceparent header value for a sampled span."""
    return f"00-{trace_id:032x}-{span_id:016x}-01"


def ids(span: ReadableSpan) -> tuple[int, int]:
    """A span's trace id and span id."""
    assert span.context is not None
    return span.context.trace_id, span.context.span_id


def parent_id(span: ReadableSpan) -> int | None:
    """The span id of a span's parent (None for a root)."""
    return span.parent.span_id if span.parent is not None else None


def attribute(span: ReadableSpan, name: str) -> object:
    return (span.attributes or {}).get(name)


def in_trace(spans: Sequence[ReadableSpan], trace_id: int) -> list[ReadableSpan]:
    """The spans of one trace, in the order they ended."""
    return [span for span in spans if ids(span)[0] == trace_id]


def named(spans: Sequence[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]
