"""What a provider's reply means and when to try again. Pure: the caller passes the time.

Every platform's classifier turns a reply into one of the verdicts below; the delivery loop acts
on verdicts only, so retry, expiry and result rules are the same for every provider.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from contracts.base import derived_id
from contracts.push import Outcome, PushRequest, PushResult
from shared.platforms.ttl import deadline


@dataclass(frozen=True)
class Delivered:
    """The provider accepted the push."""

    status: int
    message_id: str | None


@dataclass(frozen=True)
class Rejected:
    """The provider refused this push for good: its token is dead, or the push is wrong.

    ``invalid_since`` is the provider's own time for a dead token when it gives one (APNs).
    """

    outcome: Literal["token_invalid", "failed"]
    reason: str
    status: int | None
    invalid_since: datetime | None = None


@dataclass(frozen=True)
class RetryLater:
    """A passing failure: try the same push again after at least ``wait_at_least`` seconds.

    ``status`` is None when the provider gave no reply at all (the connection failed).
    """

    reason: str
    status: int | None
    wait_at_least: float = 0.0


@dataclass(frozen=True)
class Reauthenticate:
    """Our credentials were refused; fresh ones may pass, so try once more with them."""

    reason: str
    status: int | None


@dataclass(frozen=True)
class Halt:
    """The deployment itself is wrong (credentials, project): every push would fail alike.

    The batch is not acknowledged; it is retried until an operator fixes the configuration, so a
    bad deploy stalls the stream instead of marking every device's push as failed.
    """

    reason: str
    status: int | None


Verdict = Delivered | Rejected | RetryLater | Reauthenticate | Halt


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a push gets and how long to wait between them.

    ``max_delay`` caps the backoff; ``max_wait`` is the longest Retry-After Herald honours (a
    provider asking for more fails the push), and the push's TTL bounds every wait.
    """

    max_attempts: int
    base_delay: float
    max_delay: float
    max_wait: float = 3600.0

    def delay(self, attempt: int, *, wait_at_least: float, jitter: float) -> float:
        """Seconds before attempt ``attempt + 1``: exponential backoff with jitter.

        ``jitter`` in [0, 1) spreads the wait over the upper half of the backoff window so that
        pushes failing together do not come back together; a provider's Retry-After is a floor.
        """
        window = min(self.max_delay, self.base_delay * 2.0 ** min(attempt - 1, 30))
        return max(window * (0.5 + jitter / 2), wait_at_least)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """A Retry-After header (delta seconds or an HTTP date) as seconds from ``now``."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def expired_before_sending(request: PushRequest, now: datetime) -> bool:
    """True when the TTL ran out before the first attempt.

    A TTL of 0 means "deliver now if the device is reachable, never store": it is sent once,
    whatever the time it took to get here, and not retried.
    """
    end = deadline(request)
    return end is not None and request.options.ttl_seconds != 0 and now >= end


def retry_would_expire(request: PushRequest, now: datetime, delay: float) -> bool:
    """True when waiting ``delay`` seconds would take the push past its TTL."""
    end = deadline(request)
    return end is not None and now + timedelta(seconds=delay) >= end


def result(
    request: PushRequest,
    now: datetime,
    *,
    outcome: Outcome,
    attempts: int,
    reason: str | None = None,
    status: int | None = None,
    message_id: str | None = None,
    invalid_since: datetime | None = None,
) -> PushResult:
    """The one result event of a request.

    Its id derives from the request's, so a redelivered request yields the same result id and
    downstream dedupes it. A push that expired before it was sent reports 0 attempts.
    """
    return PushResult(
        event_id=derived_id(request.event_id, "result"),
        app_id=request.app_id,
        occurred_at=now,
        request_event_id=request.event_id,
        notification_id=request.notification_id,
        user_id=request.user_id,
        device_id=request.device_id,
        platform=request.platform,
        token=request.token,
        outcome=outcome,
        reason=reason,
        provider_status=status,
        provider_message_id=message_id,
        invalid_since=invalid_since,
        attempts=attempts,
        accepted_at=request.accepted_at,
    )
