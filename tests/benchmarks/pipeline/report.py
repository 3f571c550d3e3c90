"""The human report in the terminal: one table per concern, then each target of the issue with the
figure that answers it. Figures come from the result dictionary that is also written as JSON."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from contracts.push import PLATFORMS
from tests.benchmarks.pipeline import config as goals
from tests.benchmarks.pipeline.config import HERALD_SERVICES


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers], *([_cell(v) for v in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(
            c.rjust(w) if i else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each goal of the issue, the figure measured for it, and whether it is met."""
    phases = results["phases"]
    rows: list[dict[str, Any]] = []

    def add(goal: str, measured: object, met: bool | None, note: str = "") -> None:
        rows.append({"target": goal, "measured": measured, "met": met, "note": note})

    max_rate = phases.get("max-rate", {})
    total = max_rate.get("throughput", {}).get("total", {})
    rate = total.get("steady") or total.get("mean")
    add(
        f">= {goals.TARGET_DELIVERIES_PER_SECOND:,.0f} deliveries/s end to end",
        rate,
        None if rate is None else rate >= goals.TARGET_DELIVERIES_PER_SECOND,
        "max-rate phase, steady (middle 80% of deliveries)",
    )
    fixed = phases.get("fixed-rate", {})
    p99 = fixed.get("latency_ms", {}).get("all", {}).get("p99")
    offered = fixed.get("offered_deliveries_per_s")
    at_half = offered is not None and offered >= goals.TARGET_DELIVERIES_PER_SECOND / 2
    p99_goal = goals.TARGET_P99_MS[results["config"]["broker"]]
    add(
        f"p99 <= {p99_goal:g} ms at half that load",
        p99,
        None if p99 is None else (p99 <= p99_goal and at_half),
        f"fixed-rate phase at {_cell(offered)} deliveries/s",
    )
    pipeline = pipeline_cpu_us(max_rate)
    add(
        f"Herald + broker + PostgreSQL CPU <= {goals.TARGET_PIPELINE_CPU_US:g} us/delivery",
        pipeline,
        None if pipeline is None else pipeline <= goals.TARGET_PIPELINE_CPU_US,
        "max-rate phase, every process but the emulators and the load generator",
    )
    for platform in PLATFORMS:
        cost = max_rate.get("cpu_us_per_delivery", {}).get(f"dispatcher-{platform}")
        goal = goals.TARGET_DISPATCHER_CPU_US[platform]
        add(
            f"dispatcher-{platform} CPU <= {goal:g} us/delivery",
            cost,
            None if cost is None else cost <= goal,
            "max-rate phase",
        )
    idle = results.get("idle_rss_mb", {})
    worst = max((idle.get(name, 0.0) for name in HERALD_SERVICES), default=None)
    add(
        f"<= {goals.TARGET_IDLE_RSS_MB:g} MB RSS per idle service",
        worst,
        None if worst is None else worst <= goals.TARGET_IDLE_RSS_MB,
        "largest idle Herald service",
    )
    broadcast = phases.get("broadcast", {})
    devices = broadcast.get("devices")
    delivered = broadcast.get("delivered_seconds")
    issued = broadcast.get("issued_seconds")
    big_enough = devices is not None and devices >= goals.TARGET_BROADCAST_DEVICES
    projected = (
        round(delivered * goals.TARGET_BROADCAST_DEVICES / devices, 1)
        if delivered and devices
        else None
    )
    add(
        f"1M-device broadcast issued in <= {goals.TARGET_BROADCAST_SECONDS:g} s",
        issued,
        None if issued is None else (big_enough and issued <= goals.TARGET_BROADCAST_SECONDS),
        f"{_cell(devices)} devices: on push topics after {_cell(issued)} s, at providers after "
        f"{_cell(delivered)} s (1M at that pace: {_cell(projected)} s)",
    )
    add(
        f"1M-device broadcast delivered in <= {goals.TARGET_BROADCAST_DELIVERED_SECONDS:g} s",
        delivered,
        None
        if delivered is None
        else (big_enough and delivered <= goals.TARGET_BROADCAST_DELIVERED_SECONDS),
        f"{_cell(devices)} devices",
    )
    growth = broadcast.get("dispatcher_growth_mb", {})
    most = max(growth.values(), default=None)
    add(
        f"dispatcher memory growth <= {goals.TARGET_DISPATCHER_GROWTH_MB:g} MB in the broadcast",
        most,
        None if most is None else most <= goals.TARGET_DISPATCHER_GROWTH_MB,
        f"{_cell(devices)} devices",
    )
    return rows


def pipeline_cpu_us(phase: dict[str, Any]) -> float | None:
    """CPU-seconds of every process that a deployment runs, per delivery of the phase: the
    emulators stand in for the providers and the load generator for the product teams."""
    seconds: dict[str, float] = phase.get("cpu_seconds", {})
    delivered: int | None = phase.get("delivered", {}).get("total")
    if not seconds or not delivered:
        return None
    ours = [v for name, v in seconds.items() if not _outside(name)]
    return round(sum(ours) / delivered * 1e6, 1)


def _outside(process: str) -> bool:
    return process == "bench" or process.endswith("-emulator")


def render(results: dict[str, Any]) -> str:
    """The whole report as text."""
    machine = results["machine"]
    kind = "smoke" if results["config"]["smoke"] else "full"
    out = [
        f"Herald pipeline benchmark  {results['started']}  ({kind})",
        f"broker: {results['broker']['label']}",
        f"machine: {machine['cores']} cores, {machine['cpu_model']}, load average at start "
        f"{machine['load_at_start']}",
        "",
    ]
    phases = results["phases"]
    out.append(
        table(
            [
                "phase",
                "sent",
                "expected",
                "delivered",
                "missing",
                "dup",
                "deliv/s",
                "apns/s",
                "fcm/s",
                "webpush/s",
                "others' CPU s",
                "stolen CPU s",
            ],
            (
                [
                    name,
                    p["notifications"],
                    p["expected"]["total"],
                    p["delivered"]["total"],
                    p["missing"],
                    p["duplicates"],
                    p["throughput"]["total"]["steady"] or p["throughput"]["total"]["mean"],
                    *(
                        p["throughput"][pl]["steady"] or p["throughput"][pl]["mean"]
                        for pl in PLATFORMS
                    ),
                    p["machine"]["others_cpu_seconds"],
                    p["machine"].get("stolen_cpu_seconds"),
                ]
                for name, p in phases.items()
            ),
        )
    )
    out += [
        "",
        "latency from ingest acceptance to the provider request, ms (p50 / p90 / p99 / max)",
    ]
    out.append(
        table(
            ["phase", *PLATFORMS],
            (
                [name, *(_latency(p["latency_ms"][pl]) for pl in PLATFORMS)]
                for name, p in phases.items()
            ),
        )
    )
    for name, phase in phases.items():
        if "hops_ms" in phase:
            out += [
                "",
                f"where the time goes in the {name} phase "
                f"({_cell(phase.get('offered_deliveries_per_s'))} deliveries/s offered): "
                "each hop, ms (p50 / p90 / p99 / max)",
                table(
                    ["hop", "ms", "samples"],
                    ([hop, _latency(f), f["count"]] for hop, f in phase["hops_ms"].items()),
                ),
            ]
    names = list(next(iter(phases.values()))["cpu_us_per_delivery"]) if phases else []
    out += ["", "CPU per delivery, us (dispatchers: per delivery of their platform)"]
    out.append(
        table(
            ["process", *phases],
            ([n, *(p["cpu_us_per_delivery"].get(n) for p in phases.values())] for n in names),
        )
    )
    out += ["", "idle CPU % and memory, MB RSS (idle, then steady / peak under load)"]
    rows = []
    for n in names:
        row: list[object] = [n, results["idle_cpu_percent"].get(n), results["idle_rss_mb"].get(n)]
        for phase in ("max-rate", "broadcast"):
            rss = phases.get(phase, {}).get("rss_mb", {}).get(n, {})
            row += [rss.get("steady"), rss.get("peak")]
        rows.append(row)
    out.append(
        table(
            ["process", "idle CPU%", "idle MB", "max steady", "max peak", "bc steady", "bc peak"],
            rows,
        )
    )
    out += ["", "targets (goals on this machine, not assertions)"]
    out.append(
        table(
            ["target", "measured", "met", "how"],
            (
                [
                    t["target"],
                    t["measured"],
                    {True: "yes", False: "NO", None: "-"}[t["met"]],
                    t["note"],
                ]
                for t in results["targets"]
            ),
        )
    )
    return "\n".join(out)


def _latency(figures: dict[str, Any]) -> str:
    if not figures.get("count"):
        return "-"
    return " / ".join(f"{figures[k]:.1f}" for k in ("p50", "p90", "p99", "max"))
