"""One measured phase: note CPU, send, wait (bounded) until every expected delivery has reached a
provider, note CPU again, and turn the tally into figures: throughput, latency, cost per delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from contracts.push import PLATFORMS
from tests.benchmarks.pipeline.processes import (
    MemoryWatch,
    Processes,
    Usage,
    machine_busy_seconds,
    machine_stolen_seconds,
)
from tests.benchmarks.pipeline.progress import Progress
from tests.benchmarks.pipeline.tally import PhaseTally

MB = 1024 * 1024
#: After the last delivery, the results still flow back to the registry: let that CPU count.
SETTLE_SECONDS = 1.0


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def latency_figures(samples: list[float]) -> dict[str, float | int | None]:
    if not samples:
        return {"count": 0, "p50": None, "p90": None, "p99": None, "max": None}
    ordered = sorted(samples)
    return {
        "count": len(ordered),
        "p50": round(percentile(ordered, 0.50) * 1000, 2),
        "p90": round(percentile(ordered, 0.90) * 1000, 2),
        "p99": round(percentile(ordered, 0.99) * 1000, 2),
        "max": round(ordered[-1] * 1000, 2),
    }


def throughput_figures(arrivals: list[float], since: float | None) -> dict[str, float | None]:
    """Mean deliveries/s from the first acceptance, and steady: the middle 80% of arrivals."""
    if len(arrivals) < 2 or since is None:
        return {"mean": None, "steady": None}
    ordered = sorted(arrivals)
    mean = len(ordered) / max(ordered[-1] - since, 1e-6)
    low, high = percentile(ordered, 0.10), percentile(ordered, 0.90)
    steady = 0.8 * len(ordered) / (high - low) if high > low else None
    return {"mean": round(mean, 1), "steady": round(steady, 1) if steady else None}


def series(tally: PhaseTally, start: float) -> dict[str, list[list[float]]]:
    """Per platform and second since ``start``: [second, deliveries, p50 ms, p99 ms]."""
    result: dict[str, list[list[float]]] = {}
    for platform in PLATFORMS:
        buckets: dict[int, list[float]] = {}
        for at, latency in zip(tally.arrivals[platform], tally.latencies[platform], strict=True):
            buckets.setdefault(int(at - start), []).append(latency)
        rows = []
        for second in sorted(buckets):
            ordered = sorted(buckets[second])
            rows.append(
                [
                    second,
                    len(ordered),
                    round(percentile(ordered, 0.5) * 1000, 2),
                    round(percentile(ordered, 0.99) * 1000, 2),
                ]
            )
        result[platform] = rows
    return result


async def run_phase(
    tally: PhaseTally,
    send: Callable[[], Awaitable[dict[str, Any]]],
    processes: Processes,
    *,
    timeout: float,
    progress: Progress,
) -> dict[str, Any]:
    """Send, wait for every delivery (at most ``timeout`` seconds after sending), measure."""
    before = processes.usage()
    busy_before = machine_busy_seconds()
    stolen_before = machine_stolen_seconds()
    watch = MemoryWatch(processes)
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch.run(stop))
    started = time.time()
    ticker = asyncio.create_task(progress.follow(tally, stop))
    try:
        sending = await send()
        sent_at = time.time()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await tally.completion()
        finished = time.time()
        if tally.complete():
            await asyncio.sleep(SETTLE_SECONDS)
    finally:
        stop.set()
        await watcher
        await ticker
    after = processes.usage()
    figures = _figures(tally, sending, before, after, watch, started, sent_at, finished)
    ours = sum(figures["cpu_seconds"].values())
    busy = machine_busy_seconds() - busy_before
    figures["machine"] = {
        "busy_cpu_seconds": round(busy, 2),
        "others_cpu_seconds": round(max(0.0, busy - ours), 2),
        "stolen_cpu_seconds": round(machine_stolen_seconds() - stolen_before, 2),
        "wall_seconds": round(time.time() - started, 2),
    }
    return figures


def _figures(
    tally: PhaseTally,
    sending: dict[str, Any],
    before: dict[str, Usage],
    after: dict[str, Usage],
    watch: MemoryWatch,
    started: float,
    sent_at: float,
    finished: float,
) -> dict[str, Any]:
    all_arrivals = [t for platform in PLATFORMS for t in tally.arrivals[platform]]
    cpu = {name: after[name].cpu_seconds - before[name].cpu_seconds for name in after}
    per_delivery = {}
    by_dispatcher = {f"dispatcher-{p}": tally.delivered[p] for p in PLATFORMS}
    for name, seconds in cpu.items():
        count = by_dispatcher.get(name, len(all_arrivals))
        per_delivery[name] = round(seconds / count * 1e6, 1) if count else None
    return {
        "name": tally.name,
        **sending,
        "notifications": len(tally.notifications),
        "expected": {**{p: tally.expected[p] for p in PLATFORMS}, "total": tally.expected_total},
        "delivered": {**{p: tally.delivered[p] for p in PLATFORMS}, "total": len(all_arrivals)},
        "missing": tally.missing,
        "duplicates": tally.duplicates,
        "refused": {str(k): v for k, v in tally.refused.items()},
        "complete": tally.complete(),
        "send_seconds": round(sent_at - started, 3),
        "first_arrival": min(all_arrivals) if all_arrivals else None,
        "last_arrival": max(all_arrivals) if all_arrivals else None,
        "drain_seconds": round(finished - sent_at, 3),
        "throughput": {
            **{
                p: throughput_figures(list(tally.arrivals[p]), tally.first_accepted)
                for p in PLATFORMS
            },
            "total": throughput_figures(all_arrivals, tally.first_accepted),
        },
        "latency_ms": {
            **{p: latency_figures(list(tally.latencies[p])) for p in PLATFORMS},
            "all": latency_figures([x for p in PLATFORMS for x in tally.latencies[p]]),
        },
        "cpu_seconds": {name: round(seconds, 3) for name, seconds in cpu.items()},
        "cpu_us_per_delivery": per_delivery,
        "rss_mb": {
            name: {
                "before": round(before[name].rss_bytes / MB, 1),
                "steady": round(watch.steady(name) / MB, 1),
                "peak": round(watch.peak(name) / MB, 1),
                "samples": [round(rss / MB, 1) for rss in watch.thinned(name)],
            }
            for name in after
        },
        "series": series(tally, tally.first_accepted or started),
    }
