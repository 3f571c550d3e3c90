"""deploy/CAPACITY.md from a plan: the source runs, every assumption, then the figures. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tests.benchmarks.capacity.plan import Assumptions, MessageSizes, Plan, Retention


@dataclass(frozen=True)
class SourceRun:
    """Where figures came from: printed so a reader can find and repeat the run."""

    path: str
    started: str
    commit: str | None
    machine: str
    broker: str
    deliveries_per_second: float
    others_cpu_seconds: float
    wall_seconds: float


def _n(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _source(role: str, run: SourceRun) -> str:
    commit = run.commit or "not recorded (runs before the benchmark recorded it)"
    return (
        f"- **{role}**: `{run.path}`, started {run.started}, commit {commit}, on {run.machine}, "
        f"broker {run.broker}; {_n(run.deliveries_per_second)} deliveries/s steady at max rate, "
        f"while other work on the machine took {_n(run.others_cpu_seconds)} CPU s of the phase's "
        f"{_n(run.wall_seconds)} s."
    )


def _shares(shares: Mapping[str, float]) -> str:
    return ", ".join(f"{name} {share:.0%}" for name, share in shares.items())


def assumptions_section(
    plan: Plan, a: Assumptions, sizes: MessageSizes, retention: Retention
) -> list[str]:
    rows = ", ".join(f"{table} {size:,} B" for table, size in a.row_bytes.items())
    tokens = ", ".join(f"{name} {size} B" for name, size in a.token_bytes.items())
    return [
        "## Assumptions",
        "",
        f"- Load: {_n(a.devices)} devices, {_n(a.peak_pushes_per_second)} pushes/s at peak "
        f"(a broadcast to every device takes {_n(a.devices / a.peak_pushes_per_second)} s).",
        f"- Platform mix of pushes: {_shares(a.platform_share)}.",
        f"- {a.devices_per_user:g} devices per user (so one user notification fans out to "
        f"{a.devices_per_user:g} pushes), {a.users_per_send:g} users per send on average.",
        f"- Daily volume, for what the stores keep: {a.pushes_per_device_per_day:g} pushes per "
        f"device per day ({_n(a.devices * a.pushes_per_device_per_day / 86_400)}/s on average); "
        f"each device registers again {a.registrations_per_device_per_day:g} time(s) a day.",
        "- CPU per unit of work is the max-rate phase's figure of the source run: measured on a "
        "busy 2-core VM, so it errs high. The stages before the fan-out work per user "
        "notification: their per-delivery figure is multiplied back by the run's fan-out "
        f"({plan.run_deliveries_per_user_notification:g} deliveries per user notification).",
        f"- A pod's CPU limit is {a.pod_cpu_limit_cores:g} core (one asyncio loop per process "
        f"cannot use more), used to {a.target_utilisation:.0%} at peak; at least "
        f"{a.min_replicas} replicas of each deployment. Memory limit: 1.5 times the peak RSS "
        "in the run, in steps of 64 MB.",
        f"- Partitions: {a.partition_headroom:g} times the most replicas reading the topic, "
        f"rounded up to a multiple of {a.partition_multiple} (partitions cannot be added later "
        "without moving keys).",
        f"- Broker: replication factor {a.replication_factor}, hot-path topics kept "
        f"{retention.topic_days:g} days (the catalog), no producer compression, "
        f"{a.record_overhead_bytes} B of key, headers and framing per record; message bodies "
        f"are the contracts' examples encoded ({sizes.user_notification} B user notification, "
        f"{sizes.due} B due, {sizes.counted} B counted, {sizes.push_request} B push request, "
        f"{sizes.push_result} B push result) with real token lengths ({tokens}) for the "
        f"example's {sizes.example_token} B. Retries, reads and badge syncs are left out.",
        f"- A broker node: {a.broker_cores} cores used to {a.target_utilisation:.0%}, a "
        f"{a.broker_nic_gbit:g} Gbit/s NIC used to {a.broker_network_utilisation:.0%} each way, "
        f"{a.broker_disk_tb:g} TB of usable disk. The broker's CPU per record is the source "
        "run's (one node, no replication) times the replication factor.",
        f"- PostgreSQL rows, with their indexes (estimates from the column lists; "
        f"`pg_total_relation_size` on a loaded table replaces them): {rows}. Kept: settled "
        f"scheduler copies {retention.held_copies_days:g} days, counted notifications "
        f"{retention.counted_days:g} days (read ones; unread ones stay), idempotency keys "
        f"{retention.idempotency_days:g} days (the services' defaults).",
        "",
    ]


def stages_section(plan: Plan, a: Assumptions) -> list[str]:
    lines = [
        "## Services",
        "",
        "| deployment | CPU µs per delivery (run) | unit of work | CPU µs per unit "
        "| units/s at peak | cores | replicas | peak RSS MB | memory limit MB |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for s in plan.stages:
        lines.append(
            f"| {s.stage.name} | {_n(s.us_per_delivery_measured, 1)} | {s.stage.unit} | "
            f"{_n(s.us_per_unit)} | "
            f"{_n(s.units_per_second)} | {_n(s.cores, 1)} | {s.replicas} | "
            f"{_n(s.peak_rss_mb)} | {s.memory_limit_mb} |"
        )
    cores = sum(s.cores for s in plan.stages)
    pods = sum(s.replicas for s in plan.stages)
    lines += [
        f"| **all** | | | | | **{_n(cores, 1)}** | **{pods}** | | |",
        "",
        f"{_n(plan.user_notifications_per_second)} user notifications/s feed "
        f"{_n(a.peak_pushes_per_second)} pushes/s. Replicas: cores / "
        f"({a.pod_cpu_limit_cores:g} core x {a.target_utilisation:.0%}), rounded up; set each "
        "deployment's autoscaler maximum to it, and its CPU request to the limit.",
        "",
        "## Partitions",
        "",
        "| topic | partitions |",
        "|---|---:|",
    ]
    lines += [f"| {topic} | {count} |" for topic, count in sorted(plan.partitions.items())]
    lines += [
        "",
        "Set them with `HERALD_KAFKA_PARTITIONS` before the topics exist (deploy/README.md).",
        "",
    ]
    return lines


def broker_section(plan: Plan, a: Assumptions) -> list[str]:
    b = plan.broker
    return [
        "## Kafka brokers",
        "",
        "| figure | value |",
        "|---|---:|",
        f"| bytes on the brokers per push | {_n(b.bytes_per_push)} |",
        f"| records per push | {b.records_per_push:.2f} |",
        f"| produced at peak | {_n(b.produce_mb_per_second)} MB/s |",
        f"| broker CPU at peak (all brokers) | {_n(b.cores, 1)} cores |",
        f"| disk for the retention, replicated | {_n(b.disk_tb, 1)} TB |",
        f"| **brokers** (the most of replication, CPU, network, disk) | **{b.brokers}**, "
        f"limited by {b.limited_by} |",
        f"| network per broker at peak, each way | {b.network_gbit_per_broker:.1f} Gbit/s |",
        "",
    ]


def postgres_section(plan: Plan, a: Assumptions) -> list[str]:
    cores = plan.postgres_cores / a.target_utilisation
    lines = [
        "## PostgreSQL",
        "",
        f"The run's PostgreSQL CPU, per user notification, comes to {_n(plan.postgres_cores, 1)} "
        f"cores at peak: {_n(cores, 1)} cores used to {a.target_utilisation:.0%}, across the four "
        "services' databases (each service has its own schema and may have its own server).",
        "",
        "| table | rows kept | size GB | row writes/s at peak |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {t.table} | {_n(t.rows)} | {_n(t.size_gb, 1)} | {_n(t.writes_per_second)} |"
        for t in plan.tables
    ]
    lines.append("")
    return lines


def render(
    plan: Plan,
    a: Assumptions,
    sizes: MessageSizes,
    retention: Retention,
    services_run: SourceRun,
    broker_run: SourceRun,
) -> str:
    head = [
        "# Capacity plan",
        "",
        f"For {_n(a.devices)} devices and {_n(a.peak_pushes_per_second)} pushes a second. "
        "Written by `make capacity` (`python -m tests.benchmarks.capacity`) from the newest "
        "full `make bench` runs; change an assumption in `Assumptions` "
        "(tests/benchmarks/capacity/plan.py) and run it again rather than editing this file.",
        "",
        "## Source runs",
        "",
        _source("services and PostgreSQL", services_run),
        _source("broker CPU", broker_run),
        "",
    ]
    body = (
        assumptions_section(plan, a, sizes, retention)
        + stages_section(plan, a)
        + broker_section(plan, a)
        + postgres_section(plan, a)
    )
    return "\n".join(head + body)
