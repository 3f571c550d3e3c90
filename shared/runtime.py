"""How every service process runs: start, serve until SIGTERM/SIGINT, stop cleanly.

On the signal, at once: /readyz says no, consumers stop fetching, the HTTP server stops taking
requests and background loops are told to return. All of them get ``shutdown_drain_seconds`` to
finish what they hold (a consumer commits each batch it finishes); a batch still unfinished then is
cancelled uncommitted, so the group delivers it again. Then the producer flushes and the database
pool closes: the process exits within the drain plus a second or two. While it runs, the broker and
the service's own probes (its database) decide what /readyz answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
import uvloop
from starlette.applications import Starlette

from contracts.topics import all_topics
from shared.clock import SystemClock
from shared.health import BrokerProbe, Probe, Readiness, ReadinessSettings
from shared.kafka.admin import ensure_topics
from shared.kafka.bus import Bus
from shared.logs import configure_logging
from shared.metrics import LagMonitor, expose_metrics
from shared.settings import (
    EventLoopSettings,
    HttpSettings,
    KafkaSettings,
    ObservabilitySettings,
)
from shared.telemetry import configure_tracing

log = logging.getLogger(__name__)


#: A loop a service runs beside its consumers (a release or flush loop). It must return soon after
#: the event it is given is set; the runtime sets it at shutdown, before the broker stops.
BackgroundTask = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@dataclass
class ServiceParts:
    """What a service's composition root hands to the runtime.

    ``probes``: dependencies besides the broker that /readyz must see answering (the database).
    ``http_app``: a FastAPI app for a service with an API (shared.http), the bare health app
    otherwise (shared.health_app).
    """

    name: str
    bus: Bus
    http_app: Starlette
    http: HttpSettings
    on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    background: list[BackgroundTask] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    readiness: ReadinessSettings = field(default_factory=ReadinessSettings)


class _Server(uvicorn.Server):
    """Uvicorn without its own signal handling: the runtime owns shutdown order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def prepare_topics(settings: KafkaSettings) -> None:
    """Create the catalog's missing topics, unless operators own them (topic creation off)."""
    if settings.kafka_create_topics:
        await ensure_topics(settings, all_topics())


async def serve(parts: ServiceParts, stop: asyncio.Event) -> None:
    """Run ``parts`` until ``stop`` is set, then shut down in order."""
    expose_metrics(parts.http_app)
    await parts.bus.start()
    server = _Server(
        uvicorn.Config(
            parts.http_app,
            host=parts.http.http_host,
            port=parts.http.http_port,
            log_config=None,
            access_log=False,
            lifespan="off",
            ws="none",  # no Herald route is a WebSocket: skip loading wsproto
            timeout_graceful_shutdown=max(1, int(parts.bus.settings.shutdown_drain_seconds)),
        )
    )
    server_task = asyncio.create_task(server.serve())
    stop_task = asyncio.create_task(stop.wait())
    stopping = asyncio.Event()
    readiness = Readiness(
        [BrokerProbe(parts.bus.broker, parts.readiness.timeout), *parts.probes],
        SystemClock(),
        parts.readiness,
    )
    parts.http_app.state.readiness = readiness
    lag = LagMonitor(parts.bus.broker, parts.bus.settings.topic_prefix)
    background = [
        asyncio.create_task(task(stopping)) for task in [*parts.background, readiness.run, lag.run]
    ]
    try:
        while not server.started:
            if server_task.done():
                server_task.result()
                raise RuntimeError(f"{parts.name}: HTTP server stopped during start-up")
            await asyncio.sleep(0.02)
        parts.http_app.state.ready = True
        log.info("%s ready on http://%s:%d", parts.name, parts.http.http_host, parts.http.http_port)
        await asyncio.wait(
            {server_task, stop_task, *background}, return_when=asyncio.FIRST_COMPLETED
        )
        for task in background:
            if task.done():
                task.result()
    finally:
        parts.http_app.state.ready = False
        stop_task.cancel()
        server.should_exit = True
        stopping.set()
        drain = parts.bus.settings.shutdown_drain_seconds
        await asyncio.gather(
            _stop_consuming(parts.name, parts.bus, drain),
            _finish([server_task, *background], drain),
        )
        await parts.bus.broker.stop()
        for callback in parts.on_stop:
            await callback()
        log.info("%s stopped", parts.name)


async def _stop_consuming(name: str, bus: Bus, drain: float) -> None:
    """Stop every subscription fetching; each finishes and commits the batch it holds, or hands
    it back after ``drain`` seconds (the broker's graceful timeout)."""
    held = sum(bus.in_flight.values())
    log.info(
        "%s: stopped consuming; %d messages in flight, up to %g s to finish them", name, held, drain
    )
    await asyncio.gather(*(subscriber.stop() for subscriber in bus.broker.subscribers))
    log.info("%s: consumers stopped", name)


async def _finish(tasks: list[asyncio.Task[None]], grace: float) -> None:
    """Let the HTTP server and background loops return after the signal; cancel any that
    overstay ``grace`` seconds."""
    _, late = await asyncio.wait(tasks, timeout=grace)
    for task in late:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, Exception):
            log.error("background task failed", exc_info=result)


def settle_heap() -> None:
    """Move what start-up built (modules, schemas, pools, the app) out of the collector's sight.

    They live as long as the process, yet every full collection walked all of them again, and
    the per-message objects of a busy consumer trigger collections often: the registry's fan-out
    work in a heap of a service's size spent about a fifth of its CPU in the collector."""
    gc.collect()
    gc.freeze()


def run_service(
    name: str,
    observability: ObservabilitySettings,
    build: Callable[[], Awaitable[ServiceParts]],
) -> int:
    """The body of every ``python -m services.<name>``: returns the process exit code."""
    configure_logging(observability, name)
    configure_tracing(observability, name)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        parts = await build()
        settle_heap()
        await serve(parts, stop)

    run_on_loop(main(), EventLoopSettings())
    return 0


def run_on_loop(main: Coroutine[Any, Any, None], settings: EventLoopSettings) -> None:
    """Run ``main`` to completion on the loop ``settings`` name, as ``asyncio.run`` would.

    The loop class is chosen here, not through the global event-loop policy, so the setting
    means what it says whatever policy a library or a test harness installed."""
    factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.SelectorEventLoop
    if settings.event_loop == "uvloop":
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main)
