"""Ingest's Prometheus instruments: send requests accepted, and refused by reason."""

from __future__ import annotations

from typing import Literal

from prometheus_client import Counter

ACCEPTED = Counter(
    "herald_ingest_accepted_total",
    "Send requests accepted (a replay of an accepted request counts as replayed).",
    ["source", "replayed"],
)
REJECTED = Counter(
    "herald_ingest_rejected_total",
    "Send requests refused after decoding, by reason (undecodable records are counted as parked).",
    ["source", "reason"],
)

Source = Literal["http", "kafka"]
#: invalid_request: a rule of the request is broken; idempotency_conflict: its key was used for
#: another body; unsigned: no intake key of the app signed the record.
Reason = Literal["invalid_request", "idempotency_conflict", "unsigned"]


def accepted(source: Source, *, replayed: bool) -> None:
    ACCEPTED.labels(source=source, replayed=str(replayed).lower()).inc()


def rejected(source: Source, reason: Reason) -> None:
    REJECTED.labels(source=source, reason=reason).inc()
