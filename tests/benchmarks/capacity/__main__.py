"""``make capacity``: write deploy/CAPACITY.md from the newest full ``make bench`` runs.

The I/O edge of the plan: finds the runs under bench-results/, reads their figures, measures the
contracts' example messages and reads retention from the catalog and the services' settings, then
hands everything to the pure plan and report.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from contracts import topics
from contracts.codec import encode
from contracts.export import schema_file_name
from contracts.topics import Topic
from services.badge_count.settings import BadgeCountSettings
from services.ingest.settings import IngestSettings
from services.scheduler.settings import SchedulerSettings
from tests.benchmarks.capacity.plan import (
    HERALD_STAGES,
    Assumptions,
    MessageSizes,
    Retention,
    RunFigures,
    capacity_plan,
)
from tests.benchmarks.capacity.report import SourceRun, render

EXAMPLES = Path(topics.__file__).parent / "examples"
PHASE = "max-rate"


class NoRun(RuntimeError):
    """No full benchmark run to plan from."""


def full_runs(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every complete, non-smoke run under ``folder``, oldest first."""
    runs = []
    for path in folder.glob("*/results.json"):
        results = json.loads(path.read_text())
        phases = results.get("phases", {})
        if results["config"]["smoke"] or PHASE not in phases:
            continue
        if all(phase["complete"] for phase in phases.values()):
            runs.append((path.parent, results))
    return sorted(runs, key=lambda run: str(run[1]["started"]))


def run_figures(services: dict[str, Any], broker: dict[str, Any]) -> RunFigures:
    phase = services["phases"][PHASE]
    user_notifications = phase["notifications"] * services["config"]["users_per_send"]
    return RunFigures(
        cpu_us_per_delivery=phase["cpu_us_per_delivery"],
        peak_rss_mb={name: rss["peak"] for name, rss in phase["rss_mb"].items()},
        deliveries_per_user_notification=phase["delivered"]["total"] / user_notifications,
        broker_cpu_us_per_delivery=broker["phases"][PHASE]["cpu_us_per_delivery"]["broker"],
    )


def source(path: Path, results: dict[str, Any]) -> SourceRun:
    """What the report says about a run; its folder named from bench-results/ on."""
    phase = results["phases"][PHASE]
    machine = results["machine"]
    return SourceRun(
        path=f"{path.parent.name}/{path.name}",
        started=results["started"],
        commit=results.get("commit"),
        machine=f"{machine['cores']} cores ({machine['cpu_model']})",
        broker=results["broker"]["label"],
        deliveries_per_second=phase["throughput"]["total"]["steady"],
        others_cpu_seconds=phase["machine"]["others_cpu_seconds"],
        wall_seconds=phase["machine"]["wall_seconds"],
    )


def encoded_example(topic: Topic) -> bytes:
    """The topic's committed example as the services put it on the wire."""
    text = (EXAMPLES / schema_file_name(topic)).read_text()
    return encode(topic.message.model_validate_json(text))


def message_sizes() -> MessageSizes:
    push = topics.PUSH["fcm"]
    token = json.loads((EXAMPLES / schema_file_name(push)).read_text())["token"]
    return MessageSizes(
        user_notification=len(encoded_example(topics.USER)),
        due=len(encoded_example(topics.DUE)),
        counted=len(encoded_example(topics.COUNTED)),
        push_request=len(encoded_example(push)),
        push_result=len(encoded_example(topics.RESULTS)),
        example_token=len(token.encode()),
    )


def retention() -> Retention:
    kept = topics.PUSH["fcm"].retention
    assert kept is not None, "the push topics delete by age"
    return Retention(
        topic_days=kept.total_seconds() / 86_400,
        held_copies_days=_default(SchedulerSettings, "scheduler_retention_hours") / 24,
        counted_days=_default(BadgeCountSettings, "badge_retention_days"),
        idempotency_days=_default(IngestSettings, "idempotency_retention_days"),
    )


def _default(settings: type[Any], name: str) -> float:
    return float(settings.model_fields[name].default)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("bench-results"), help="where runs are")
    parser.add_argument("--out", type=Path, default=Path("deploy/CAPACITY.md"))
    args = parser.parse_args(argv)
    runs = full_runs(args.runs)
    if not runs:
        raise NoRun(f"no complete full run under {args.runs}/: run `make bench` first")
    services_path, services = runs[-1]
    on_kafka = [run for run in runs if run[1]["broker"]["kind"] == "kafka"]
    broker_path, broker = on_kafka[-1] if on_kafka else runs[-1]
    assumptions = Assumptions()
    sizes = message_sizes()
    kept = retention()
    plan = capacity_plan(HERALD_STAGES, run_figures(services, broker), sizes, kept, assumptions)
    text = render(
        plan,
        assumptions,
        sizes,
        kept,
        source(services_path, services),
        source(broker_path, broker),
    )
    args.out.write_text(text)
    sys.stdout.write(f"wrote {args.out} from {services_path} and {broker_path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
