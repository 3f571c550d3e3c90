"""When each user's copy of a notification goes out: local time, DST, quiet hours, pacing, expiry.

Pure: no I/O. The caller passes the user's preferences and, where it matters, the current time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from contracts.notifications import UserNotification
from contracts.users import QuietHours

NO_OFFSET = timedelta(0)

#: What decided a copy's release time: the time the sender asked for, the user's quiet hours, or
#: the copy's place in a paced send.
HoldReason = Literal["schedule", "quiet_hours", "pacing"]


@dataclass(frozen=True)
class Preferences:
    """What the scheduler knows of a user: their time zone and quiet hours, when they set them."""

    time_zone: str | None = None
    quiet_hours: QuietHours | None = None


NO_PREFERENCES = Preferences()


@dataclass(frozen=True)
class Plan:
    """When one copy goes out.

    ``target_at`` is the moment the sender asked for, in this user's time; ``release_at`` follows
    quiet hours and pacing; after ``deadline`` the copy is no longer worth sending. ``held_by`` is
    the last rule that moved ``release_at``, what a held copy's trace gives as its reason.
    """

    target_at: datetime
    release_at: datetime
    deadline: datetime | None
    held_by: HoldReason = "schedule"

    @property
    def expired(self) -> bool:
        """True when the copy cannot go out before its deadline."""
        return self.deadline is not None and self.release_at >= self.deadline


def hold_reason(plan: Plan, now: datetime) -> HoldReason | None:
    """Why a copy waits past ``now``; None when it goes out (or is reported expired) at once."""
    if plan.expired or plan.release_at <= now:
        return None
    return plan.held_by


def act_at(plan: Plan, now: datetime) -> datetime:
    """When the release loop should look at a copy: at its release, or at once to report it
    expired when its plan already misses the deadline."""
    return now if plan.expired else plan.release_at


def _offset(wall: datetime, zone: ZoneInfo, fold: int) -> timedelta:
    offset = wall.replace(tzinfo=zone, fold=fold).utcoffset()
    if offset is None:
        raise ValueError(f"time zone {zone.key} gives no UTC offset for {wall}")
    return offset


def _readings(wall: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """``wall`` read with the UTC offset in force before a transition, then the one after.

    Away from transitions both are the same instant. In a fold (clocks set back) they are the first
    and second occurrence. In a gap (clocks set forward) neither names a real wall time: the first
    lands the gap's length later, the second the gap's length earlier.
    """
    naive = wall.replace(tzinfo=None)
    before = (naive - _offset(naive, zone, fold=0)).replace(tzinfo=UTC)
    after = (naive - _offset(naive, zone, fold=1)).replace(tzinfo=UTC)
    return before, after


def local_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time in ``zone``, defined for every wall time.

    Fold (the time happens twice): the first occurrence. Gap (the time never happens): read with
    the offset before the jump, so it moves later by the gap's length (02:30 becomes 03:30), as
    RFC 5545 section 3.3.5 prescribes for nonexistent local times.
    """
    return _readings(wall, zone)[0]


def next_local_instant(wall: datetime, zone: ZoneInfo, after: datetime) -> datetime:
    """Like ``local_instant``, but a folded time whose first occurrence is not later than
    ``after`` is its second occurrence."""
    first, second = _readings(wall, zone)
    folded = second > first
    return second if folded and first <= after else first


def in_quiet_hours(local: time, quiet: QuietHours) -> bool:
    """True when a local time of day falls in the window (start included, end excluded)."""
    if quiet.start < quiet.end:
        return quiet.start <= local < quiet.end
    return local >= quiet.start or local < quiet.end


def after_quiet_hours(instant: datetime, zone: ZoneInfo, quiet: QuietHours) -> datetime:
    """``instant`` when it is outside the window, else the instant the window ends.

    A window crossing midnight entered in the evening ends the next morning; entered after
    midnight, it ends the same morning. An end that falls in a DST gap moves later like any local
    time; an end in a fold is the first of its occurrences after ``instant``.
    """
    local = instant.astimezone(zone)
    now_local = local.time()
    if not in_quiet_hours(now_local, quiet):
        return instant
    end_day = local.date() if now_local < quiet.end else local.date() + timedelta(days=1)
    return next_local_instant(datetime.combine(end_day, quiet.end), zone, after=instant)


def zone_for(notification: UserNotification, preferences: Preferences) -> ZoneInfo:
    """The user's own zone, else the one the sender gave for local times, else UTC."""
    schedule = notification.schedule
    fallback = schedule.time_zone if schedule is not None else None
    return ZoneInfo(preferences.time_zone or fallback or "UTC")


def target_at(notification: UserNotification, zone: ZoneInfo) -> datetime:
    """The moment the sender asked for: ``send_at``, ``local_time`` in ``zone``, or acceptance."""
    schedule = notification.schedule
    if schedule is not None and schedule.send_at is not None:
        return schedule.send_at.astimezone(UTC)
    if schedule is not None and schedule.local_time is not None:
        return local_instant(schedule.local_time, zone)
    return notification.accepted_at.astimezone(UTC)


def deadline_for(notification: UserNotification, target: datetime) -> datetime | None:
    """The last moment worth sending: ``expires_at``, or the TTL counted from the target time.

    A TTL of 0 is the provider's "now or never" and sets no deadline for the scheduler.
    """
    limits = []
    if notification.schedule is not None and notification.schedule.expires_at is not None:
        limits.append(notification.schedule.expires_at.astimezone(UTC))
    if notification.options.ttl_seconds:
        limits.append(target + timedelta(seconds=notification.options.ttl_seconds))
    return min(limits, default=None)


def pacing_rate(notification: UserNotification) -> int | None:
    """Users per minute when the sender asked to spread the send, else None."""
    return notification.schedule.rate_per_minute if notification.schedule is not None else None


def pace_offset(slot: int, rate_per_minute: int) -> timedelta:
    """How long after its wave's start the copy in ``slot`` (0, 1, 2...) goes out."""
    return timedelta(minutes=slot / rate_per_minute)


def plan(
    notification: UserNotification, preferences: Preferences, offset: timedelta = NO_OFFSET
) -> Plan:
    """When this user's copy goes out.

    The target time is pushed past quiet hours (unless urgent); a pacing ``offset`` then counts
    from that moment, and quiet hours apply once more to where it lands.
    """
    zone = zone_for(notification, preferences)
    target = target_at(notification, zone)
    urgent = notification.schedule is not None and notification.schedule.urgent
    quiet = None if urgent else preferences.quiet_hours
    release, held_by = _past_quiet_hours(target, "schedule", zone, quiet)
    if offset:
        release, held_by = _past_quiet_hours(release + offset, "pacing", zone, quiet)
    return Plan(target, release, deadline_for(notification, target), held_by)


def _past_quiet_hours(
    instant: datetime, reason: HoldReason, zone: ZoneInfo, quiet: QuietHours | None
) -> tuple[datetime, HoldReason]:
    """``instant`` moved past quiet hours, and the reason: ``reason``, or quiet hours if they
    moved it."""
    if quiet is None:
        return instant, reason
    moved = after_quiet_hours(instant, zone, quiet)
    return moved, reason if moved == instant else "quiet_hours"
