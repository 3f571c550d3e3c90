"""The registry's Prometheus instruments: pushes fanned out per platform, tokens deactivated,
users streamed from audiences."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable
from typing import Literal

from prometheus_client import Counter

from contracts.push import Platform

FANOUT = Counter(
    "herald_fanout_pushes_total",
    "Push requests published to a platform's topic: one per device of a counted notification"
    " (kind=notification) or a badge sync to a user's other devices (kind=sync).",
    ["platform", "kind"],
)
TOKEN_DEACTIVATIONS = Counter(
    "herald_token_deactivations_total",
    "Devices deactivated because their provider called the token invalid.",
    ["platform"],
)

AUDIENCE_USERS = Counter(
    "herald_audience_users_total",
    "Per-user events streamed from notifications to devices, topics, all devices or segments, "
    "by audience kind.",
    ["kind"],
)


def fanned_out(platforms: Iterable[Platform], kind: Literal["notification", "sync"]) -> None:
    """Count published push requests, one platform per request."""
    for platform, count in Tally(platforms).items():
        FANOUT.labels(platform=platform, kind=kind).inc(count)
