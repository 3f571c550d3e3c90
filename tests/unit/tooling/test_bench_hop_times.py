"""The benchmark's per-hop arithmetic: each step's share from record timestamps, and the last hop's
pairing of a notification's pushes with its provider arrivals in time order."""

from __future__ import annotations

from collections import Counter

import pytest

from contracts import topics
from tests.benchmarks.pipeline.hop_times import Stamps, hop_latencies, hop_names, slowest
from tests.benchmarks.pipeline.tally import PhaseTally

pytestmark = pytest.mark.unit


def test_each_hop_is_the_time_from_one_step_to_the_next() -> None:
    tally = PhaseTally("fixed-rate", keep_arrivals=True)
    tally.expect("n1", 100.0, Counter({"fcm": 3}))
    for at in (100.300, 100.200, 100.100):
        tally.receive("fcm", "n1", at, 200)
    stamps = Stamps()
    for user, offset in (("ann", 0.0), ("bob", 0.010), ("cy", 0.020)):
        stamps.steps[("n1", user)] = {
            topics.USER.name: 100.005 + offset,
            topics.DUE.name: 100.025 + offset,
            topics.COUNTED.name: 100.035 + offset,
        }
        stamps.pushes[("n1", user)] = [("fcm", 100.050 + offset)]

    hops = hop_latencies(tally, stamps)

    ingest, scheduler, badge, registry, *dispatchers = hop_names()
    assert hops[ingest]["count"] == 3
    assert hops[ingest]["max"] == pytest.approx(25.0)
    assert hops[scheduler]["p50"] == pytest.approx(20.0)
    assert hops[badge]["p50"] == pytest.approx(10.0)
    assert hops[registry]["p50"] == pytest.approx(15.0)
    fcm = next(name for name in dispatchers if "fcm" in name)
    assert hops[fcm]["count"] == 3
    assert hops[fcm]["p50"] == pytest.approx(140.0)
    assert hops[fcm]["max"] == pytest.approx(230.0)
    assert all(hops[name]["count"] == 0 for name in dispatchers if name != fcm)
    assert slowest(hops) == fcm


def test_a_copy_missing_a_step_counts_only_the_hops_before_it() -> None:
    tally = PhaseTally("fixed-rate", keep_arrivals=True)
    tally.expect("n1", 100.0, Counter({"apns": 1}))
    stamps = Stamps()
    stamps.steps[("n1", "ann")] = {topics.USER.name: 100.004}
    stamps.pushes[("n1", "ann")] = [("apns", 100.050)]

    hops = hop_latencies(tally, stamps)

    counts = [hops[name]["count"] for name in hop_names()]
    assert counts == [1, 0, 0, 0, 0, 0, 0]
