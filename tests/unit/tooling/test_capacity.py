"""The capacity plan's arithmetic: per-unit CPU to cores and replicas, partitions from the readers'
replicas, bytes and brokers, database rows and writes, and a report that names its source runs."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests.benchmarks.capacity.__main__ import full_runs, message_sizes
from tests.benchmarks.capacity.plan import (
    HERALD_STAGES,
    Assumptions,
    MessageSizes,
    Retention,
    RunFigures,
    Stage,
    bytes_per_push,
    capacity_plan,
    partitions,
    partitions_for,
    replicas_for,
    stage_plan,
    table_plans,
)
from tests.benchmarks.capacity.report import SourceRun, render

pytestmark = pytest.mark.unit

SIZES = MessageSizes(
    user_notification=800,
    due=700,
    counted=700,
    push_request=900,
    push_result=600,
    example_token=30,
)
RETENTION = Retention(topic_days=7, held_copies_days=7, counted_days=30, idempotency_days=400)


def run(**cpu: float) -> RunFigures:
    figures = {stage.name: 100.0 for stage in HERALD_STAGES} | {"postgres": 50.0} | cpu
    return RunFigures(
        cpu_us_per_delivery=figures,
        peak_rss_mb=dict.fromkeys(figures, 100.0),
        deliveries_per_user_notification=3.0,
        broker_cpu_us_per_delivery=150.0,
    )


def test_replicas_carry_the_cores_at_the_target_utilisation_and_at_least_the_minimum() -> None:
    a = Assumptions(pod_cpu_limit_cores=1.0, target_utilisation=0.5, min_replicas=2)

    assert replicas_for(10.0, a) == 20
    assert replicas_for(10.1, a) == 21
    assert replicas_for(0.1, a) == 2


def test_partitions_leave_headroom_in_whole_multiples() -> None:
    a = Assumptions(partition_headroom=2.0, partition_multiple=12)

    assert partitions_for(5, a) == 12
    assert partitions_for(6, a) == 12
    assert partitions_for(7, a) == 24


def test_a_dispatcher_is_sized_by_its_platform_share_of_the_pushes() -> None:
    a = Assumptions(peak_pushes_per_second=100_000, platform_share={"fcm": 0.4})
    stage = Stage("dispatcher-fcm", "delivery", ("push.fcm",), "fcm")

    planned = stage_plan(stage, run(**{"dispatcher-fcm": 300.0}), a)

    assert planned.units_per_second == 40_000
    assert planned.cores == pytest.approx(12.0)


def test_a_stage_before_the_fan_out_is_sized_per_user_notification() -> None:
    """Measured at 3 deliveries per user notification, planned at 2: the same user notifications
    cost 3x the per-delivery figure, and there are half as many as pushes."""
    a = Assumptions(peak_pushes_per_second=100_000, devices_per_user=2.0)
    stage = Stage("scheduler", "user notification", ("notifications.user",))

    planned = stage_plan(stage, run(scheduler=50.0), a)

    assert planned.us_per_unit == 150.0
    assert planned.units_per_second == 50_000
    assert planned.cores == pytest.approx(7.5)


def test_a_topic_gets_partitions_for_the_largest_group_reading_it() -> None:
    a = Assumptions(peak_pushes_per_second=100_000, pod_cpu_limit_cores=1.0, target_utilisation=1.0)
    light = Stage("badge-count", "user notification", ("shared.topic",))
    heavy = Stage("registry", "user notification", ("shared.topic", "own.topic"))
    planned = [
        stage_plan(light, run(**{"badge-count": 10.0}), a),
        stage_plan(heavy, run(registry=200.0), a),
    ]

    assert [p.replicas for p in planned] == [2, 30]
    assert partitions(planned, a) == {"shared.topic": 60, "own.topic": 60}


def test_bytes_per_push_spread_the_per_user_messages_and_use_real_token_lengths() -> None:
    a = Assumptions(
        devices_per_user=2.0,
        platform_share={"apns": 0.5, "fcm": 0.5, "webpush": 0.0},
        token_bytes={"apns": 64, "fcm": 156, "webpush": 0},
        record_overhead_bytes=100,
    )

    per_user = (800 + 700 + 700) / 2
    per_delivery = 900 + 600 + 2 * (110 - 30)
    assert bytes_per_push(SIZES, a) == per_user + per_delivery + 3.5 * 100


def test_brokers_follow_whatever_needs_most_and_never_fewer_than_the_replicas() -> None:
    small = Assumptions(devices=1_000, peak_pushes_per_second=10)
    big_disk = Assumptions(pushes_per_device_per_day=1_000, broker_disk_tb=1.0)

    plan_small = capacity_plan(HERALD_STAGES, run(), SIZES, RETENTION, small)
    plan_disk = capacity_plan(HERALD_STAGES, run(), SIZES, RETENTION, big_disk)

    assert (plan_small.broker.brokers, plan_small.broker.limited_by) == (3, "replication factor")
    assert plan_disk.broker.limited_by == "disk"
    assert plan_disk.broker.brokers == math.ceil(plan_disk.broker.disk_tb)


def test_device_rows_are_rewritten_at_most_hourly_whatever_the_push_rate() -> None:
    a = Assumptions(devices=3_600_000, registrations_per_device_per_day=0)

    devices = {t.table: t for t in table_plans(RETENTION, a)}["registry.devices"]

    assert devices.rows == 3_600_000
    assert devices.writes_per_second == 1_000


def test_the_scheduler_keeps_each_user_notification_for_its_retention() -> None:
    a = Assumptions(devices=1_000_000, pushes_per_device_per_day=10, devices_per_user=2.0)

    held = {t.table: t for t in table_plans(RETENTION, a)}["scheduler.held"]

    assert held.rows == 5_000_000 * 7
    assert held.writes_per_second == 2 * a.peak_pushes_per_second / 2


def test_the_report_names_its_runs_and_states_the_assumptions() -> None:
    a = Assumptions()
    plan = capacity_plan(HERALD_STAGES, run(), SIZES, RETENTION, a)
    source = SourceRun(
        "bench-results/latest",
        "2026-12-05T01:19:02+00:00",
        "abc1234",
        "2 cores",
        "kafka",
        1_000.0,
        5.0,
        60.0,
    )

    text = render(plan, a, SIZES, RETENTION, source, source)

    assert "bench-results/latest" in text
    assert "abc1234" in text
    assert "2026-12-05T01:19:02+00:00" in text
    assert "replication factor 3" in text
    assert "45%" in text
    assert "2 devices per user" in text
    for stage in HERALD_STAGES:
        assert f"| {stage.name} |" in text
    for topic in ("push.fcm", "notifications.user", "push.results"):
        assert f"| {topic} |" in text


def test_message_sizes_come_from_the_contracts_examples() -> None:
    sizes = message_sizes()

    assert 300 < sizes.push_request < 4_000
    assert sizes.example_token > 0


def results(started: str, *, smoke: bool = False, complete: bool = True) -> dict[str, Any]:
    return {
        "started": started,
        "config": {"smoke": smoke},
        "phases": {"max-rate": {"complete": complete}},
    }


def test_the_plan_takes_the_newest_complete_full_run(tmp_path: Path) -> None:
    for name, figures in {
        "old": results("2026-12-01T00:00:00+00:00"),
        "new": results("2026-12-03T00:00:00+00:00"),
        "smoke": results("2026-12-04T00:00:00+00:00", smoke=True),
        "lost": results("2026-12-05T00:00:00+00:00", complete=False),
    }.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(figures))

    assert [path.name for path, _ in full_runs(tmp_path)] == ["old", "new"]
