"""Ingest's rules: what a valid request is, what makes two requests the same, how it fans out.

Pure functions: no I/O, the time is passed in.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.base import derived_id
from contracts.categories import Category, CategoryRules
from contracts.content import NotificationRequest
from contracts.notifications import NotificationAudience, UserNotification
from contracts.schedule import Schedule
from contracts.trace import NotificationTraced
from shared.platforms import limits

#: How far ahead a send may be scheduled, and how far back a send time may lie: a backlog
#: replayed a little late still goes out, an older time is more likely a wrong date.
MAX_SCHEDULE_AHEAD = timedelta(days=365)
MAX_SCHEDULE_BEHIND = timedelta(days=7)
#: The longest TTL a provider keeps a push (28 days), so an expiry may lie this far past a send.
MAX_TTL = timedelta(days=28)
#: A local time happens first in UTC+14 and last in UTC-12.
EARLIEST_ZONE = timedelta(hours=14)
LATEST_ZONE = timedelta(hours=12)
NUL_MESSAGE = "contains a NUL character (U+0000), which Herald cannot store"


class RequestProblem(ValueError):
    """A request Herald refuses; ``field`` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def check(request: NotificationRequest, *, max_content_bytes: int) -> None:
    """Rules beyond the per-field limits of the model; raise RequestProblem on the first broken."""
    for path, problem in _unsendable(request.content.model_dump(), "content"):
        raise RequestProblem(path, problem)
    for locale in (None, *request.content.localized):
        device_gets = request.content.in_locale(locale)
        size = len(device_gets.model_dump_json(exclude_defaults=True).encode())
        if size > max_content_bytes:
            field = "content" if locale is None else f"content.localized.{locale}"
            raise RequestProblem(
                field,
                f"{size} bytes when serialized as a device gets it; the limit is "
                f"{max_content_bytes} bytes (providers refuse larger payloads)",
            )
    if not request.content.visible and not request.content.data:
        raise RequestProblem("content", "needs a title or body, or data for a silent push")
    breaches = list(limits.payload_breaches(request.content, request.options))
    if breaches:
        field = breaches[0].field
        raise RequestProblem(field, "; ".join(b.message for b in breaches if b.field == field))


def category_rules(request: NotificationRequest, category: Category | None) -> CategoryRules | None:
    """The rules of the category the request names (``category``: the app's definition of it);
    a name the app does not define is refused rather than sent without opt-outs or caps."""
    if request.category is None:
        return None
    if category is None:
        raise RequestProblem(
            "category",
            f"the app has no category {request.category!r}: create it first (herald categories "
            "create); a category just created may take a moment to be known here",
        )
    return CategoryRules(default_enabled=category.default_enabled, cap=category.cap)


def check_timing(request: NotificationRequest, now: datetime) -> None:
    """Schedule times within the window, and a deadline not passed; raise RequestProblem if not.

    These depend on ``now``, so they hold for a new request only: a replay of an accepted one is
    answered as before. Only differences of datetimes are computed, so no date can overflow.
    """
    if request.schedule is not None:
        _check_schedule(request.schedule, request.options.ttl_seconds, now)


def _check_schedule(schedule: Schedule, ttl_seconds: int | None, now: datetime) -> None:
    ttl = timedelta(seconds=ttl_seconds) if ttl_seconds else None
    if schedule.send_at is not None:
        _within_window("schedule.send_at", now - schedule.send_at, now - schedule.send_at)
        if ttl is not None and now - schedule.send_at >= ttl:
            raise RequestProblem(
                "options.ttl_seconds",
                f"the TTL of {ttl_seconds} s counted from schedule.send_at ended "
                f"{_ago(now - schedule.send_at - ttl)} ago; nothing would be sent",
            )
    if schedule.local_time is not None:
        age = now - schedule.local_time.replace(tzinfo=UTC)
        where = " in every time zone"
        _within_window("schedule.local_time", age + EARLIEST_ZONE, age - LATEST_ZONE, where)
        if ttl is not None and age - LATEST_ZONE >= ttl:
            raise RequestProblem(
                "options.ttl_seconds",
                f"the TTL of {ttl_seconds} s counted from schedule.local_time ended{where}; "
                "nothing would be sent",
            )
    if schedule.expires_at is not None:
        left = schedule.expires_at - now
        horizon = MAX_SCHEDULE_AHEAD + MAX_TTL
        if left <= timedelta(0):
            raise RequestProblem(
                "schedule.expires_at", f"passed {_ago(-left)} ago; nothing would be sent"
            )
        if left > horizon:
            raise RequestProblem(
                "schedule.expires_at",
                f"is more than {horizon.days} days ahead; the limit is {horizon.days} days",
            )


def _within_window(
    field: str, since_first: timedelta, since_last: timedelta, where: str = ""
) -> None:
    """``since_first`` and ``since_last``: how long ago the time falls, read earliest and latest."""
    if -since_first > MAX_SCHEDULE_AHEAD:
        raise RequestProblem(
            field,
            f"is more than {MAX_SCHEDULE_AHEAD.days} days ahead{where}; "
            f"the limit is {MAX_SCHEDULE_AHEAD.days} days",
        )
    if since_last > MAX_SCHEDULE_BEHIND:
        raise RequestProblem(
            field,
            f"is more than {MAX_SCHEDULE_BEHIND.days} days in the past{where}; the limit is "
            f"{MAX_SCHEDULE_BEHIND.days} days (leave the schedule out to send now)",
        )


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def _unsendable(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Values that cannot travel as they are: a NUL character (PostgreSQL text and jsonb refuse
    it) and NaN or Infinity (not JSON: they would reach the device as null)."""
    if isinstance(value, str):
        if "\x00" in value:
            yield path, NUL_MESSAGE
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield path, "NaN and Infinity are not JSON numbers"
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                yield path, NUL_MESSAGE
            yield from _unsendable(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unsendable(item, f"{path}.{index}")


def fingerprint(request: NotificationRequest) -> bytes:
    """A digest of what was asked, so a replay with a different body is told apart.

    Only the request's own fields count: the same request sent over HTTP or as an event (with its
    own event id and timestamp) has the same fingerprint. The schedule, category and transactional
    flag count only when given (the audience serializes only its kind), so requests recorded
    before them keep their fingerprint.
    """
    fields = {"audience", "content", "options"} | ({"schedule"} if request.schedule else set())
    fields |= {"category"} if request.category else set()
    fields |= {"transactional"} if request.transactional else set()
    canonical = request.model_dump_json(include=fields).encode()
    return hashlib.sha256(canonical).digest()


def expand(
    app_id: str,
    request: NotificationRequest,
    notification: uuid.UUID,
    accepted_at: datetime,
    now: datetime,
    category_rules: CategoryRules | None = None,
) -> Iterator[UserNotification]:
    """One event per recipient user; ids derive from (notification, user) so re-publishing
    dedupes (the registry derives a streamed audience's the same way)."""
    for user_id in request.audience.user_ids or ():
        yield UserNotification(
            event_id=derived_id(notification, user_id),
            app_id=app_id,
            occurred_at=now,
            notification_id=notification,
            user_id=user_id,
            content=request.content,
            options=request.options,
            accepted_at=accepted_at,
            schedule=request.schedule,
            category=request.category,
            transactional=request.transactional,
            category_rules=category_rules,
        )


def audience_event(
    app_id: str,
    request: NotificationRequest,
    notification: uuid.UUID,
    accepted_at: datetime,
    now: datetime,
    category_rules: CategoryRules | None = None,
) -> NotificationAudience:
    """The one event that hands a streamed audience to the registry; its id derives from the
    notification, so a re-run after a crash repeats it."""
    return NotificationAudience(
        event_id=derived_id(notification, "audience"),
        app_id=app_id,
        occurred_at=now,
        notification_id=notification,
        audience=request.audience,
        content=request.content,
        options=request.options,
        accepted_at=accepted_at,
        schedule=request.schedule,
        category=request.category,
        transactional=request.transactional,
        category_rules=category_rules,
    )


def recipients(request: NotificationRequest) -> int | None:
    """How many users the request targets; None when the registry finds them (streamed)."""
    user_ids = request.audience.user_ids
    return None if user_ids is None else len(user_ids)


def accepted_trace(
    app_id: str, request: NotificationRequest, notification: uuid.UUID, accepted_at: datetime
) -> NotificationTraced:
    """The trace step that opens the notification's timeline. It names the sender's idempotency
    key, which is how a sender over Kafka (who gets no answer) learns its notification id.
    ``users`` is known for user ids only: a streamed audience's size is what the registry finds."""
    return NotificationTraced.step(
        "accepted",
        app_id=app_id,
        notification_id=notification,
        occurred_at=accepted_at,
        idempotency_key=request.idempotency_key,
        users=recipients(request),
        content=request.content,
        category=request.category,
    )
