"""The webhooks' rules: which trace events a webhook gets and in what batches, how a POST is
signed, what an endpoint's answer means, and when to try again. Pure: time and jitter are passed
in, and the endpoint state below is plain memory.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from contracts.apps import DEFAULT_WEBHOOK_STAGES
from contracts.base import derived_id
from contracts.trace import NotificationTraced, Stage
from contracts.webhooks import WebhookDelivery
from shared.retry_after import parse_retry_after

#: The header a POST's signature travels in: ``t=<unix seconds>,v1=<hex HMAC-SHA256>``.
SIGNATURE_HEADER = "Herald-Signature"
#: The delivery's id, the same on every attempt: a receiver that saw it already may skip it.
DELIVERY_HEADER = "Herald-Delivery"
#: The contract's limit on a delivery's last reason; longer ones are cut to it.
MAX_REASON_CHARS = 500
#: What an app's outcome stream carries: how each user's and device's story ended.
OUTCOME_STAGES: frozenset[Stage] = frozenset(DEFAULT_WEBHOOK_STAGES)


class Hook(Protocol):
    """What selecting events needs to know of a webhook."""

    @property
    def webhook_id(self) -> uuid.UUID: ...

    @property
    def stages(self) -> frozenset[Stage]: ...


def deliveries(
    events: Iterable[NotificationTraced],
    hooks_of: Callable[[str], Sequence[Hook]],
    *,
    now: datetime,
    max_events: int,
    max_bytes: int,
) -> list[WebhookDelivery]:
    """The deliveries a run of trace events makes: per webhook of each event's app that wants
    its stage, in the order the events came, at most ``max_events`` and about ``max_bytes`` of
    events each. A delivery's id derives from its webhook and events: a batch retried keeps it,
    but after a restart the consumer may cut the same events into other batches, with other
    ids, so receivers dedupe on each event's ``event_id``."""
    chosen: dict[tuple[str, uuid.UUID], list[tuple[NotificationTraced, int]]] = {}
    for event in events:
        hooks = [hook for hook in hooks_of(event.app_id) if event.stage in hook.stages]
        if not hooks:
            continue
        size = len(event.model_dump_json())
        for hook in hooks:
            chosen.setdefault((event.app_id, hook.webhook_id), []).append((event, size))
    made: list[WebhookDelivery] = []
    for (app_id, webhook_id), sized in chosen.items():
        for batch in _batches(sized, max_events, max_bytes):
            made.append(
                WebhookDelivery(
                    event_id=derived_id("webhook", webhook_id, *(e.event_id for e in batch)),
                    app_id=app_id,
                    occurred_at=now,
                    webhook_id=webhook_id,
                    events=batch,
                )
            )
    return made


def _batches(
    sized: list[tuple[NotificationTraced, int]], max_events: int, max_bytes: int
) -> Iterable[list[NotificationTraced]]:
    batch: list[NotificationTraced] = []
    used = 0
    for event, size in sized:
        if batch and (len(batch) == max_events or used + size > max_bytes):
            yield batch
            batch, used = [], 0
        batch.append(event)
        used += size
    if batch:
        yield batch


def body(delivery: WebhookDelivery) -> bytes:
    """What is POSTed: the same bytes on every attempt of a delivery."""
    return json.dumps(
        {
            "delivery_id": str(delivery.event_id),
            "webhook_id": str(delivery.webhook_id),
            "app_id": delivery.app_id,
            "events": [event.model_dump(mode="json") for event in delivery.events],
        },
        separators=(",", ":"),
    ).encode()


def signature(secret: bytes, timestamp: int, payload: bytes) -> str:
    """The signature header's value: an HMAC-SHA256 of ``<timestamp>.<body>`` under the
    webhook's secret, so a receiver can refuse a forged body and, by the time, a replayed one."""
    digest = hmac.new(secret, f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True)
class Delivered:
    """The endpoint took the batch (2xx)."""

    status: int


@dataclass(frozen=True)
class RetryLater:
    """A passing failure (408, 429, 5xx, no answer): try again, not before ``wait_at_least``."""

    reason: str
    wait_at_least: float = 0.0


@dataclass(frozen=True)
class Refused:
    """The endpoint (or the address guard) refuses this delivery for good: it is parked."""

    reason: str


Verdict = Delivered | RetryLater | Refused


def classify(status: int, retry_after: str | None, text: str, now: datetime) -> Verdict:
    """What an endpoint's answer means. Redirects are not followed: one could lead anywhere."""
    if 200 <= status < 300:
        return Delivered(status)
    said = f"HTTP {status}" + (f": {text.strip()[:200]}" if text.strip() else "")
    if status in (408, 429) or status >= 500:
        return RetryLater(said, parse_retry_after(retry_after, now) or 0.0)
    if 300 <= status < 400:
        return Refused(f"{said} (redirects are not followed)")
    return Refused(said)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter per endpoint, and how long a delivery may keep failing."""

    base_delay: float
    max_delay: float
    deadline: timedelta

    def delay(self, strikes: int, *, jitter: float, wait_at_least: float = 0.0) -> float:
        """Seconds to wait after the ``strikes``-th failure in a row: doubling from the base up
        to the maximum, spread over the upper half of the window by ``jitter`` in [0, 1), never
        less than the endpoint's Retry-After."""
        window = min(self.max_delay, self.base_delay * 2.0 ** min(max(strikes, 1) - 1, 30))
        return max(window * (0.5 + jitter / 2), wait_at_least)


def rescheduled(
    delivery: WebhookDelivery,
    *,
    now: datetime,
    not_before: datetime,
    reason: str,
    attempted: bool,
    policy: RetryPolicy,
) -> WebhookDelivery | None:
    """The delivery to try again at ``not_before``, or None when that is past its deadline (it
    is parked). The deadline starts at the first failure; a delivery sent back from the dead
    letters is past it, so it gets one more attempt, and is parked again if that fails."""
    deadline = delivery.deadline or now + policy.deadline
    if not_before > deadline:
        return None
    return delivery.model_copy(
        update={
            "attempt": delivery.attempt + (1 if attempted else 0),
            "not_before": not_before,
            "deadline": deadline,
            "last_reason": reason[:MAX_REASON_CHARS],
        }
    )


@dataclass
class EndpointBackoff:
    """Each webhook's failures in a row and when it may be tried again, in this replica's memory.

    One failing endpoint then costs one request per backoff period, not one per batch: its other
    deliveries wait on the retry topic meanwhile, and every other webhook goes on. A restart
    forgets it; the deliveries waiting keep their own times.
    """

    policy: RetryPolicy
    _strikes: dict[uuid.UUID, int] = field(default_factory=dict)
    _until: dict[uuid.UUID, datetime] = field(default_factory=dict)

    def blocked_until(self, webhook_id: uuid.UUID, now: datetime) -> datetime | None:
        until = self._until.get(webhook_id)
        return until if until is not None and until > now else None

    def failed(
        self, webhook_id: uuid.UUID, now: datetime, *, jitter: float, wait_at_least: float = 0.0
    ) -> datetime:
        """Count a failure; when the endpoint may be tried again."""
        strikes = self._strikes.get(webhook_id, 0) + 1
        self._strikes[webhook_id] = strikes
        wait = self.policy.delay(strikes, jitter=jitter, wait_at_least=wait_at_least)
        until = now + timedelta(seconds=wait)
        self._until[webhook_id] = until
        return until

    def succeeded(self, webhook_id: uuid.UUID) -> None:
        self._strikes.pop(webhook_id, None)
        self._until.pop(webhook_id, None)


def outcomes(
    events: Iterable[NotificationTraced], known: Callable[[str], bool]
) -> list[NotificationTraced]:
    """The events of a batch that go to their app's outcome stream: the stages that end a
    story, of apps this service knows and that are not disabled."""
    return [event for event in events if event.stage in OUTCOME_STAGES and known(event.app_id)]
