"""The capacity arithmetic: from a benchmark run's per-delivery figures and stated assumptions to
cores, replicas, partitions, brokers and database size for a target load. Pure: no files, no clock.

CPU scales in one of two units. A dispatcher's figure is per delivery of its own platform. The
stages before the fan-out (ingest, scheduler, badge-count, and the registry, which looks devices up
per user) work per user notification, so their per-delivery figure is turned back into a figure
per user notification with the run's own fan-out, then spread over the plan's fan-out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from contracts import topics
from contracts.push import PLATFORMS

Unit = Literal["delivery", "user notification"]
#: Hot-path records per user notification (notifications.user, .due, .counted) and per delivery
#: (push.<platform>, push.results); retries, reads and badge syncs are left out.
RECORDS_PER_USER_NOTIFICATION = 3
RECORDS_PER_DELIVERY = 2
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Stage:
    """One deployment: the benchmark process it is measured as, its unit of work, the platform
    whose share of pushes it sends (dispatchers), and the topics its consumer groups read."""

    name: str
    unit: Unit
    topics: tuple[str, ...]
    platform: str | None = None


@dataclass(frozen=True)
class RunFigures:
    """What the plan takes from one benchmark run (its max-rate phase)."""

    cpu_us_per_delivery: Mapping[str, float]
    peak_rss_mb: Mapping[str, float]
    deliveries_per_user_notification: float
    broker_cpu_us_per_delivery: float


@dataclass(frozen=True)
class MessageSizes:
    """Encoded bytes of each hot-path message as the contracts' examples give them, and the length
    of the device token in the push request and result examples."""

    user_notification: int
    due: int
    counted: int
    push_request: int
    push_result: int
    example_token: int


@dataclass(frozen=True)
class Retention:
    """How long each store keeps what the traffic leaves behind (from the catalog and settings)."""

    topic_days: float
    held_copies_days: float
    counted_days: float
    idempotency_days: float


@dataclass(frozen=True)
class Assumptions:
    """Everything the plan assumes that no benchmark measures; the report prints each one."""

    devices: int = 10_000_000
    peak_pushes_per_second: float = 100_000
    platform_share: Mapping[str, float] = field(
        default_factory=lambda: {"apns": 0.45, "fcm": 0.45, "webpush": 0.10}
    )
    devices_per_user: float = 2.0
    users_per_send: float = 20.0
    pushes_per_device_per_day: float = 10.0
    registrations_per_device_per_day: float = 1.0
    token_bytes: Mapping[str, int] = field(
        default_factory=lambda: {"apns": 64, "fcm": 163, "webpush": 450}
    )
    record_overhead_bytes: int = 100
    pod_cpu_limit_cores: float = 1.0
    target_utilisation: float = 0.7
    min_replicas: int = 2
    partition_headroom: float = 2.0
    partition_multiple: int = 12
    replication_factor: int = 3
    broker_cores: int = 8
    broker_nic_gbit: float = 10.0
    broker_network_utilisation: float = 0.5
    broker_disk_tb: float = 4.0
    row_bytes: Mapping[str, int] = field(
        default_factory=lambda: {
            "registry.devices": 300,
            "scheduler.held": 1_500,
            "badge_count.counted": 200,
            "badge_count.badges": 120,
            "ingest.submissions": 200,
        }
    )


@dataclass(frozen=True)
class StagePlan:
    stage: Stage
    us_per_delivery_measured: float
    us_per_unit: float
    units_per_second: float
    cores: float
    replicas: int
    peak_rss_mb: float
    memory_limit_mb: int


@dataclass(frozen=True)
class BrokerPlan:
    bytes_per_push: float
    records_per_push: float
    produce_mb_per_second: float
    network_gbit_per_broker: float
    cores: float
    disk_tb: float
    brokers: int
    limited_by: str


@dataclass(frozen=True)
class TablePlan:
    table: str
    rows: float
    size_gb: float
    writes_per_second: float


@dataclass(frozen=True)
class Plan:
    stages: list[StagePlan]
    partitions: dict[str, int]
    broker: BrokerPlan
    tables: list[TablePlan]
    postgres_cores: float
    user_notifications_per_second: float
    run_deliveries_per_user_notification: float


def replicas_for(cores: float, a: Assumptions) -> int:
    """Pods whose CPU limit, used to the target utilisation, carries ``cores``."""
    return max(a.min_replicas, math.ceil(cores / (a.pod_cpu_limit_cores * a.target_utilisation)))


def partitions_for(max_replicas: int, a: Assumptions) -> int:
    """Room for ``partition_headroom`` times the replicas, in whole multiples: partitions cannot be
    added later without moving keys (per-user and per-device order)."""
    wanted = max_replicas * a.partition_headroom
    return math.ceil(wanted / a.partition_multiple) * a.partition_multiple


def memory_limit_mb(peak_rss_mb: float) -> int:
    """Half again the peak seen under load, in steps of 64 MB."""
    return math.ceil(peak_rss_mb * 1.5 / 64) * 64


def stage_plan(stage: Stage, run: RunFigures, a: Assumptions) -> StagePlan:
    measured = run.cpu_us_per_delivery[stage.name]
    if stage.unit == "delivery":
        share = a.platform_share[stage.platform] if stage.platform else 1.0
        rate = a.peak_pushes_per_second * share
        per_unit = measured
    else:
        rate = a.peak_pushes_per_second / a.devices_per_user
        per_unit = measured * run.deliveries_per_user_notification
    cores = rate * per_unit / 1e6
    rss = run.peak_rss_mb[stage.name]
    return StagePlan(
        stage, measured, per_unit, rate, cores, replicas_for(cores, a), rss, memory_limit_mb(rss)
    )


def partitions(stages: list[StagePlan], a: Assumptions) -> dict[str, int]:
    """Per topic: enough for the most replicas any group reading it may run."""
    readers: dict[str, int] = {}
    for plan in stages:
        for topic in plan.stage.topics:
            readers[topic] = max(readers.get(topic, 0), plan.replicas)
    return {topic: partitions_for(count, a) for topic, count in readers.items()}


def bytes_per_push(sizes: MessageSizes, a: Assumptions) -> float:
    """Hot-path bytes on the brokers per delivery: the per-user messages spread over the fan-out,
    the push request and result with real token lengths, and a record's framing for each."""
    token = sum(a.platform_share[p] * a.token_bytes[p] for p in PLATFORMS) - sizes.example_token
    per_user = sizes.user_notification + sizes.due + sizes.counted
    per_delivery = sizes.push_request + sizes.push_result + 2 * token
    return (
        per_user / a.devices_per_user
        + per_delivery
        + records_per_push(a) * (a.record_overhead_bytes)
    )


def records_per_push(a: Assumptions) -> float:
    return RECORDS_PER_USER_NOTIFICATION / a.devices_per_user + RECORDS_PER_DELIVERY


def broker_plan(
    run: RunFigures, sizes: MessageSizes, retention: Retention, a: Assumptions
) -> BrokerPlan:
    """Brokers enough for the CPU, the network and the disk, whichever needs most.

    Network per broker, each way: producers' writes and followers' copies come in (replication
    factor times what is produced), consumers' reads and the copies to followers go out (as much
    again: one consumer group reads each hot-path topic). The
    benchmark's broker ran without replication: its CPU per record is multiplied by the
    replication factor (every follower writes each record again), an upper bound.
    """
    size = bytes_per_push(sizes, a)
    records = records_per_push(a)
    produce = a.peak_pushes_per_second * size
    bench_records = RECORDS_PER_USER_NOTIFICATION / run.deliveries_per_user_notification + 2
    us_per_record = run.broker_cpu_us_per_delivery / bench_records
    cores = a.peak_pushes_per_second * records * us_per_record * a.replication_factor / 1e6
    network_gbit = produce * a.replication_factor * 8 / 1e9
    daily = a.devices * a.pushes_per_device_per_day * size
    disk_tb = daily * retention.topic_days * a.replication_factor / 1e12
    needs = {
        "replication factor": a.replication_factor,
        "CPU": math.ceil(cores / (a.broker_cores * a.target_utilisation)),
        "network": math.ceil(network_gbit / (a.broker_nic_gbit * a.broker_network_utilisation)),
        "disk": math.ceil(disk_tb / a.broker_disk_tb),
    }
    limited_by = max(needs, key=lambda reason: needs[reason])
    brokers = needs[limited_by]
    return BrokerPlan(
        size, records, produce / 1e6, network_gbit / brokers, cores, disk_tb, brokers, limited_by
    )


def table_plans(retention: Retention, a: Assumptions) -> list[TablePlan]:
    """Rows each service keeps and writes at peak: a user notification writes a held copy and
    settles it (scheduler) and counts once into a badge (badge-count); a send is one idempotency
    row published once (ingest); a device row changes at registration and, at most hourly, on a
    successful delivery (the registry's last-success resolution)."""
    users = a.devices / a.devices_per_user
    per_user_daily = a.devices * a.pushes_per_device_per_day / a.devices_per_user
    peak_users = a.peak_pushes_per_second / a.devices_per_user
    sends_daily = per_user_daily / a.users_per_send
    device_writes = a.devices * a.registrations_per_device_per_day / SECONDS_PER_DAY + min(
        a.peak_pushes_per_second, a.devices / 3600
    )
    entries = [
        ("registry.devices", a.devices, device_writes),
        ("scheduler.held", per_user_daily * retention.held_copies_days, 2 * peak_users),
        ("badge_count.counted", per_user_daily * retention.counted_days, peak_users),
        ("badge_count.badges", users, peak_users),
        (
            "ingest.submissions",
            sends_daily * retention.idempotency_days,
            2 * peak_users / a.users_per_send,
        ),
    ]
    return [
        TablePlan(table, rows, rows * a.row_bytes[table] / 1e9, writes)
        for table, rows, writes in entries
    ]


def capacity_plan(
    stages: tuple[Stage, ...],
    run: RunFigures,
    sizes: MessageSizes,
    retention: Retention,
    a: Assumptions,
) -> Plan:
    planned = [stage_plan(stage, run, a) for stage in stages]
    user_rate = a.peak_pushes_per_second / a.devices_per_user
    postgres_us = run.cpu_us_per_delivery["postgres"] * run.deliveries_per_user_notification
    return Plan(
        stages=planned,
        partitions=partitions(planned, a),
        broker=broker_plan(run, sizes, retention, a),
        tables=table_plans(retention, a),
        postgres_cores=user_rate * postgres_us / 1e6,
        user_notifications_per_second=user_rate,
        run_deliveries_per_user_notification=run.deliveries_per_user_notification,
    )


#: Herald's deployments on the hot path, and the topics their consumer groups read (from each
#: service's app.py).
HERALD_STAGES = (
    Stage("ingest", "user notification", (topics.SUBMITTED.name, topics.CANCEL_REQUESTED.name)),
    Stage(
        "scheduler",
        "user notification",
        (topics.USER.name, topics.CANCEL.name, topics.PREFERENCES.name),
    ),
    Stage("badge-count", "user notification", (topics.DUE.name, topics.READS.name)),
    Stage(
        "registry",
        "user notification",
        (topics.COUNTED.name, topics.RESULTS.name, topics.BADGES.name),
    ),
    *(
        Stage(
            f"dispatcher-{platform}",
            "delivery",
            (topics.PUSH[platform].name, topics.RETRY[platform].name),
            platform,
        )
        for platform in PLATFORMS
    ),
)
