"""What a provider's reply means, when to try again and how long an app waits. Pure: the caller
passes the time.

Every platform's classifier turns a reply into one of the verdicts below; the delivery loop acts
on verdicts only, so retry, pause, expiry and result rules are the same for every provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from contracts.base import derived_id
from contracts.push import Outcome, PushRequest, PushResult
from contracts.trace import NotificationTraced
from shared.platforms.ttl import deadline

#: A push without a TTL is retried this long after it was accepted: the longest any provider
#: keeps a push (FCM's maximum TTL, 28 days).
DEFAULT_HORIZON_SECONDS = 28 * 24 * 3600.0
#: The last try of a push goes this long before its deadline, so it is sent rather than expired.
LAST_TRY_MARGIN = timedelta(seconds=1)


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
    """A passing failure of this push: try it again after at least ``wait_at_least`` seconds.

    ``status`` is None when the provider gave no reply at all (the connection failed).
    """

    reason: str
    status: int | None
    wait_at_least: float = 0.0


@dataclass(frozen=True)
class Reauthenticate:
    """Our access token was refused; a fresh one may pass, so try once more with it."""

    reason: str
    status: int | None


@dataclass(frozen=True)
class Pause:
    """The provider refuses this app as a whole (its credentials, its token updates, its project):
    every push of the app would be refused alike. The app's pushes wait, untouched, until its
    credentials change or the pause ends; other apps go on. ``wait_at_least``: a Retry-After."""

    reason: str
    status: int | None
    wait_at_least: float = 0.0


Verdict = Delivered | Rejected | RetryLater | Reauthenticate | Pause


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait between attempts, and for how long to keep trying.

    A push is retried until its TTL runs out, or ``horizon`` seconds after it was accepted when it
    has none; no count of attempts ends it.
    """

    base_delay: float
    max_delay: float
    horizon: float = DEFAULT_HORIZON_SECONDS

    def backoff(self, attempt: int, *, jitter: float) -> float:
        """Seconds before attempt ``attempt + 1``: doubling from ``base_delay``, capped.

        ``jitter`` in [0, 1) spreads the wait over the upper half of the window so that pushes
        failing together do not come back together.
        """
        window = min(self.max_delay, self.base_delay * 2.0 ** min(max(attempt, 1) - 1, 30))
        return window * (0.5 + jitter / 2)


@dataclass(frozen=True)
class PausePolicy:
    """How long an app waits after the provider refused it: ``first`` seconds, doubling with each
    refusal in a row up to ``longest``; a provider's Retry-After is a floor."""

    first: float
    longest: float

    def length(self, strikes: int, *, wait_at_least: float = 0.0) -> float:
        """Seconds of the ``strikes``-th pause in a row."""
        doubled = self.first * 2.0 ** min(max(strikes, 1) - 1, 30)
        return max(min(self.longest, doubled), wait_at_least)


def retry_deadline(request: PushRequest, horizon: float) -> datetime:
    """When the push stops being worth trying: its TTL's end, or the horizon without a TTL."""
    end = deadline(request)
    return end if end is not None else request.accepted_at + timedelta(seconds=horizon)


def last_try(request: PushRequest, horizon: float) -> datetime | None:
    """The latest time a retry may be planned for; None for a TTL of 0 (sent once, never again)."""
    if request.options.ttl_seconds == 0:
        return None
    return retry_deadline(request, horizon) - LAST_TRY_MARGIN


def expired_before_sending(request: PushRequest, now: datetime, horizon: float) -> bool:
    """True when the push's time ran out before this attempt.

    A TTL of 0 means "deliver now if the device is reachable, never store": it is sent once,
    whatever the time it took to get here.
    """
    return request.options.ttl_seconds != 0 and now >= retry_deadline(request, horizon)


def next_try(
    request: PushRequest, now: datetime, *, backoff: float, floor: float, horizon: float
) -> datetime | None:
    """When to try again: ``backoff`` seconds from now, never before ``floor`` (the provider's
    Retry-After), pulled in to a last try before the deadline; None when even ``floor`` would pass
    the deadline (the push expires instead)."""
    latest = last_try(request, horizon)
    if latest is None or now >= latest:
        return None
    earliest = now + timedelta(seconds=floor)
    if earliest > latest:
        return None
    return max(earliest, min(now + timedelta(seconds=backoff), latest))


def held_until(
    request: PushRequest, now: datetime, pause_end: datetime, horizon: float
) -> datetime | None:
    """When a push of a paused app comes back: at the pause's end, or for a last try before its
    deadline; None when that time has come already (the push expires instead)."""
    latest = last_try(request, horizon)
    if latest is None or now >= latest:
        return None
    return min(pause_end, latest)


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


def traced_send(result: PushResult) -> NotificationTraced:
    """The ``sent`` step of a push's timeline: its final outcome, as its result says (the device
    by id and platform, never its token)."""
    return NotificationTraced.step(
        "sent",
        app_id=result.app_id,
        notification_id=result.notification_id,
        occurred_at=result.occurred_at,
        user_id=result.user_id,
        device_id=result.device_id,
        platform=result.platform,
        outcome=result.outcome,
        provider_status=result.provider_status,
        reason=result.reason,
        attempt=result.attempts,
    )


def traced_retry(request: PushRequest, reason: str, now: datetime) -> NotificationTraced:
    """The ``retry_scheduled`` step: ``request`` goes back to the retry topic, due at its
    ``not_before``, with the attempts made so far (the step's id derives from them, so a push held
    again at the same count reports one step)."""
    return NotificationTraced.step(
        "retry_scheduled",
        app_id=request.app_id,
        notification_id=request.notification_id,
        occurred_at=now,
        user_id=request.user_id,
        device_id=request.device_id,
        platform=request.platform,
        until=request.not_before,
        reason=reason,
        attempt=request.attempt,
    )
