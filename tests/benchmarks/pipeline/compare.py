"""``python -m tests.benchmarks.pipeline.compare RUN RUN [RUN...]``: the figures that differ between
brokers (or any two runs), side by side, from each run's results.json (a folder or the file).

Typical use: ``make bench`` and ``make bench BENCH_ARGS="--broker kafka"``, then
``python -m tests.benchmarks.pipeline.compare bench-results/latest bench-results/latest-kafka``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.benchmarks.pipeline.hop_times import slowest
from tests.benchmarks.pipeline.report import table

Results = dict[str, Any]
Row = Callable[[Results], object]
HALF_LOAD = "fixed-rate"


def load(path: Path) -> Results:
    """A run's results, from its folder or its results.json."""
    file = path / "results.json" if path.is_dir() else path
    results: Results = json.loads(file.read_text())
    return results


def _phase(results: Results, name: str) -> dict[str, Any]:
    phase: dict[str, Any] = results["phases"].get(name, {})
    return phase


def _pair(figures: dict[str, Any] | None, first: str = "p50", second: str = "p99") -> str:
    if not figures or figures.get(first) is None:
        return "-"
    return f"{figures[first]:,.1f} / {figures[second]:,.1f}"


def _latency(phase: str) -> Row:
    return lambda r: _pair(_phase(r, phase).get("latency_ms", {}).get("all"))


def _rate(r: Results) -> object:
    total = _phase(r, "max-rate").get("throughput", {}).get("total", {})
    return total.get("steady") or total.get("mean")


def _broker_sum(r: Results, figures: dict[str, Any]) -> float | None:
    """A per-process figure summed over the broker's processes (one per Kafka node)."""
    values = [v for name, v in figures.items() if name.startswith("broker") and v is not None]
    return round(sum(values), 1) if values else None


def _hop(name: str) -> Row:
    return lambda r: _pair(_phase(r, HALF_LOAD).get("hops_ms", {}).get(name))


def rows(runs: list[Results]) -> list[tuple[str, Row]]:
    """Each compared figure: its label and how to read it from one run."""
    found: list[tuple[str, Row]] = [
        ("run", lambda r: f"{'smoke' if r['config']['smoke'] else 'full'} {r['started']}"),
        (
            "load average (1 min) at start / end",
            lambda r: " / ".join(
                r["machine"].get(k, "-").split()[0] for k in ("load_at_start", "load_at_end")
            ),
        ),
        (
            "CPU stolen by the hypervisor, s (all phases)",
            lambda r: round(
                sum(p["machine"].get("stolen_cpu_seconds", 0.0) for p in r["phases"].values()), 1
            ),
        ),
        (
            f"CPU other work took meanwhile, s (max-rate / {HALF_LOAD})",
            lambda r: " / ".join(
                str(_phase(r, name).get("machine", {}).get("others_cpu_seconds", "-"))
                for name in ("max-rate", HALF_LOAD)
            ),
        ),
        ("max-rate: deliveries/s (steady)", _rate),
        (
            f"{HALF_LOAD}: deliveries/s offered",
            lambda r: _phase(r, HALF_LOAD).get("offered_deliveries_per_s"),
        ),
        (f"{HALF_LOAD}: latency ms, p50 / p99", _latency(HALF_LOAD)),
        ("slow-provider: latency ms, p50 / p99", _latency("slow-provider")),
    ]
    hops: list[str] = []
    for run in runs:
        hops += [h for h in _phase(run, HALF_LOAD).get("hops_ms", {}) if h not in hops]
    found.append((f"{HALF_LOAD}: each hop, ms p50 / p99", lambda r: ""))
    found += [(f"  {hop}", _hop(hop)) for hop in hops]
    found += [
        (
            f"{HALF_LOAD}: slowest hop (by p50)",
            lambda r: slowest(_phase(r, HALF_LOAD).get("hops_ms", {})),
        ),
        (
            "broker CPU per delivery, us (max-rate)",
            lambda r: _broker_sum(r, _phase(r, "max-rate").get("cpu_us_per_delivery", {})),
        ),
        ("broker idle CPU %", lambda r: _broker_sum(r, r.get("idle_cpu_percent", {}))),
        ("broker idle RSS, MB", lambda r: _broker_sum(r, r.get("idle_rss_mb", {}))),
        (
            "broadcast: devices / on push topics s / at providers s",
            lambda r: " / ".join(
                f"{_phase(r, 'broadcast').get(k, '-'):,}"
                for k in ("devices", "issued_seconds", "delivered_seconds")
            ),
        ),
    ]
    return found


def render(runs: list[Results]) -> str:
    """The comparison as a text table, one column per run."""
    labels = [r.get("broker", {}).get("label", "broker not recorded") for r in runs]
    return table(["", *labels], ([label, *(read(r) for r in runs)] for label, read in rows(runs)))


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        sys.stderr.write(f"{__doc__}\n")
        return 2
    sys.stdout.write(render([load(Path(arg)) for arg in argv]) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
