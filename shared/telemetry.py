"""OpenTelemetry tracing: a tracer provider named after the service.

FastStream's telemetry middleware (enabled in shared.kafka.bus when tracing is on) carries the
trace context through Kafka headers, so one notification's spans join up across services.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

from shared.settings import ObservabilitySettings


def configure_tracing(settings: ObservabilitySettings, service: str) -> TracerProvider | None:
    """Install a tracer provider when an exporter is configured; None when tracing is off."""
    if settings.trace_exporter == "none":
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": f"herald-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider
