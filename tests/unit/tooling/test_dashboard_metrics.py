"""The Grafana dashboard and the Prometheus alert rules in deploy/ name only metrics that Herald's
services define, so a renamed instrument breaks this test instead of a panel or an alert."""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "deploy/grafana/herald-dashboard.json"
ALERTS = ROOT / "deploy/prometheus/alerts.yml"
#: Series Prometheus makes itself rather than scraping them.
PROMETHEUS_OWN = {"up"}
HISTOGRAM_SERIES = ("_bucket", "_count", "_sum")

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "group_left", "group_right", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names in a PromQL expression: identifiers that are neither functions (followed
    by ``(``), keywords, nor label names (inside matchers and by/without/on/ignoring lists)."""
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub("{}", text)
    text = _RANGES.sub("[]", text)
    text = _GROUPING.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        if text[match.end() :].lstrip().startswith("(") or match.group() in _KEYWORDS:
            continue
        names.add(match.group())
    return names


def defined_metrics() -> tuple[set[str], set[str]]:
    """Every series name the services' instruments expose, and the histograms among them."""
    modules = [*ROOT.glob("shared/metrics/*.py"), *ROOT.glob("services/*/metrics.py")]
    for path in modules:
        importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
    names: set[str] = set()
    histograms: set[str] = set()
    for family in REGISTRY.collect():
        if family.type == "counter":
            names.add(f"{family.name}_total")
        else:
            names.add(family.name)
        if family.type == "histogram":
            histograms.add(family.name)
    return names, histograms


def series_family(name: str, histograms: set[str]) -> str:
    """A histogram's _bucket/_count/_sum series name as the histogram's own name."""
    for suffix in HISTOGRAM_SERIES:
        if name.endswith(suffix) and name.removesuffix(suffix) in histograms:
            return name.removesuffix(suffix)
    return name


def dashboard_expressions(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            else:
                yield from dashboard_expressions(value)
    elif isinstance(node, list):
        for item in node:
            yield from dashboard_expressions(item)


def alert_expressions() -> list[str]:
    rules = yaml.safe_load(ALERTS.read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def test_the_tokenizer_finds_metric_names_and_skips_functions_labels_and_keywords() -> None:
    expr = (
        'sum by (platform) (rate(herald_a_total{verdict!~"x|y_z"}[5m]))'
        " / on (platform) group_left sum(rate(other_seconds_bucket[$__rate_interval])) > 0.05"
        ' and up{job=~"herald.*"} == 0 or histogram_quantile(0.99, gauge_x) > 1e3'
    )
    assert metric_names(expr) == {"herald_a_total", "other_seconds_bucket", "up", "gauge_x"}


def test_histogram_series_are_checked_as_their_histogram() -> None:
    histograms = {"herald_handler_duration_seconds"}
    assert (
        series_family("herald_handler_duration_seconds_bucket", histograms)
        == "herald_handler_duration_seconds"
    )
    assert series_family("herald_other_count", histograms) == "herald_other_count"


@pytest.mark.parametrize(
    ("source", "expressions"),
    [
        ("dashboard", lambda: list(dashboard_expressions(json.loads(DASHBOARD.read_text())))),
        ("alerts", alert_expressions),
    ],
)
def test_every_metric_the_dashboard_and_alerts_name_is_defined(
    source: str, expressions: Any
) -> None:
    defined, histograms = defined_metrics()
    found = expressions()
    assert found, f"no expressions in the {source}"
    unknown = {}
    for expr in found:
        names = {series_family(name, histograms) for name in metric_names(expr)}
        assert names, f"{source}: no metric in {expr!r}"
        missing = names - defined - PROMETHEUS_OWN
        if missing:
            unknown[expr] = sorted(missing)
    assert not unknown, f"{source} names metrics no service defines: {unknown}"
