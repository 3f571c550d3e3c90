"""OpenTelemetry tracing: the tracer provider a service installs, and trace context in headers.

A service traces only when ``HERALD_TRACE_EXPORTER`` names an exporter: it then installs an SDK
tracer provider named after itself, and everything here reads that provider. Without one, the
helpers below return at once, so a service that does not trace pays nothing per message.
Context travels as W3C ``traceparent``/``tracestate`` headers (the propagators OTEL_PROPAGATORS
names, W3C by default) on HTTP requests and on Kafka records alike (shared.kafka.tracing).

The SDK, the OTLP exporter (with protobuf) and the FastAPI instrumentation are imported only by a
service that traces: together they hold ~6 MB that an untraced process never uses.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING

from opentelemetry import propagate, trace
from opentelemetry.context import Context

from shared.settings import ObservabilitySettings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

#: Paths polled by probes and scrapers: tracing them would bury the requests worth seeing.
UNTRACED_PATHS = "/healthz,/readyz,/metrics"

#: What the API answers for the tracer provider while no SDK provider is installed.
_PLACEHOLDERS = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)


def tracer_provider(settings: ObservabilitySettings, service: str) -> TracerProvider | None:
    """A tracer provider exporting where the settings say; None when tracing is off."""
    if settings.trace_exporter == "none":
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    exporter: SpanExporter
    if settings.trace_exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=settings.trace_otlp_endpoint)
    else:
        exporter = ConsoleSpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": f"herald-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def configure_tracing(settings: ObservabilitySettings, service: str) -> TracerProvider | None:
    """Install the process's tracer provider when an exporter is configured."""
    provider = tracer_provider(settings, service)
    if provider is not None:
        install_tracer_provider(provider)
    return provider


def install_tracer_provider(provider: TracerProvider) -> None:
    """Make ``provider`` the process's (OpenTelemetry takes the first one only) and have
    ``tracing_enabled`` decide again. Every provider is installed here, tests' included."""
    trace.set_tracer_provider(provider)
    tracing_enabled.cache_clear()


@functools.cache
def tracing_enabled() -> bool:
    """Whether this process installed a tracer provider (else every span is a no-op). Only SDK
    providers are ever installed, so "not the API's placeholder" says it without the SDK.

    Decided once, and again after ``install_tracer_provider``: while no provider is installed,
    OpenTelemetry's lookup reads the environment on every call (~0.6 us, several calls a push).
    """
    return not isinstance(trace.get_tracer_provider(), _PLACEHOLDERS)


def instrument_http(app: FastAPI) -> None:
    """Give every HTTP request to ``app`` a server span that continues the caller's
    ``traceparent`` (so a sender's trace reaches the provider), when tracing is on."""
    if tracing_enabled():
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app, excluded_urls=UNTRACED_PATHS, exclude_spans=["receive", "send"]
        )


def context_from(headers: Mapping[str, str]) -> Context:
    """The trace context a caller or producer wrote in ``headers`` (empty when it wrote none)."""
    return propagate.extract(headers)


def headers_for(context: Context | None = None) -> dict[str, str]:
    """Headers that carry ``context`` (the current one by default) to the next hop."""
    carrier: dict[str, str] = {}
    if tracing_enabled():
        propagate.inject(carrier, context=context)
    return carrier
