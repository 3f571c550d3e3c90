"""What a notification's recorded steps add up to: its counts, its status, each user's story.

Every answer is derived from a set of steps (deduplicated by event id) — a user's tally from all
of that user's steps, recomputed whenever one arrives — never from counters bumped per event, so a
repeated event or stages arriving in any order cannot change it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Literal, get_args

from contracts.push import Platform
from contracts.trace import NotificationTraced, Stage

#: Steps sort by time, then by where the stage sits in the pipeline (ties within a millisecond).
STAGE_ORDER: dict[str, int] = {stage: index for index, stage in enumerate(get_args(Stage))}
#: Steps after which the notification is in the user's inbox: it was counted on their badge.
#: Not ``opened``: a device reports that itself, for any notification id it names.
REACHED_USER: frozenset[str] = frozenset(
    {"counted", "fanned_out", "no_device", "sent", "retry_scheduled", "token_deactivated"}
)
#: Per-user steps that end a user's part whatever else happened.
USER_ENDS: frozenset[str] = frozenset({"expired", "cancelled", "no_device"})
#: Per-device steps that end a device's part: the provider answered, or it never will be asked.
DEVICE_ENDS: frozenset[str] = frozenset({"sent", "token_deactivated", "withheld", "parked"})
#: A user who got past the hold: any of these means a ``held`` step is history.
PAST_HOLD: frozenset[str] = REACHED_USER | USER_ENDS | {"released", "withheld", "parked"}

Status = Literal["accepted", "held", "in_progress", "done"]
#: One user's part in one notification: (app, notification, user).
UserTallyKey = tuple[str, uuid.UUID, str]


def in_order(steps: Iterable[NotificationTraced]) -> list[NotificationTraced]:
    """Steps as they happened, each once."""
    unique = {step.event_id: step for step in steps}.values()
    return sorted(unique, key=lambda s: (s.occurred_at, STAGE_ORDER[s.stage], s.attempt or 0))


def _ends_user(step: NotificationTraced, fanned_out: bool) -> bool:
    if step.device_id is not None:
        return False
    if step.stage in USER_ENDS:
        return True
    if step.stage == "withheld" and step.devices:
        # Devices left out by a channel opt-out: the user's part ends there only when no other
        # device was pushed to.
        return not fanned_out
    # Withheld or parked for the user as a whole; withheld for one platform ends only that channel.
    return step.stage in {"withheld", "parked"} and step.platform is None


@dataclass(frozen=True)
class Tally:
    """Counts over users: one user's share (``users`` 1), the sum of every user's, or what a
    user's new tally changes in that sum. The tracker keeps each user's tally and each
    notification's running total, moved by the difference whenever a user's tally is replaced.

    Users per user-level stage, devices per device-level stage, each counted once; ``settled``:
    users for whom nothing more will happen; ``waiting``: users waiting on a hold.
    """

    users: int = 0
    settled: int = 0
    waiting: int = 0
    devices_expected: int = 0
    held: int = 0
    released: int = 0
    expired: int = 0
    cancelled: int = 0
    no_device: int = 0
    sent: int = 0
    delivered: int = 0
    token_deactivated: int = 0
    opened: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    withheld: dict[str, int] = field(default_factory=dict)

    def __add__(self, other: Tally) -> Tally:
        numbers = {
            f.name: getattr(self, f.name) + getattr(other, f.name)
            for f in fields(self)
            if f.name not in {"failed", "withheld"}
        }
        return Tally(
            **numbers,
            failed=_merged(self.failed, other.failed),
            withheld=_merged(self.withheld, other.withheld),
        )

    def __sub__(self, other: Tally) -> Tally:
        """What turns ``other`` into this tally: numbers and reason counts may be negative, a
        reason whose count does not change is absent."""
        negated = {
            f.name: -getattr(other, f.name)
            for f in fields(other)
            if f.name not in {"failed", "withheld"}
        }
        return self + Tally(
            **negated,
            failed={reason: -count for reason, count in other.failed.items()},
            withheld={reason: -count for reason, count in other.withheld.items()},
        )

    @property
    def open_rate(self) -> float | None:
        """Devices that opened it per device it was delivered to; None before any delivery."""
        return round(self.opened / self.delivered, 4) if self.delivered else None


def _merged(left: dict[str, int], right: dict[str, int]) -> dict[str, int]:
    """Reason counts added up, sorted by reason; a reason that adds up to nothing is dropped."""
    merged = dict(left)
    for reason, count in right.items():
        merged[reason] = merged.get(reason, 0) + count
    return {reason: count for reason, count in sorted(merged.items()) if count}


def total_changes(
    new: Mapping[UserTallyKey, Tally], old: Mapping[UserTallyKey, Tally]
) -> dict[tuple[str, uuid.UUID], Tally]:
    """How much each notification's total moves when users' tallies ``old`` (absent: the user
    had none) are replaced by ``new``; notifications whose total does not move are left out."""
    changes: dict[tuple[str, uuid.UUID], Tally] = {}
    for key, tally_now in new.items():
        notification = key[:2]
        changes[notification] = changes.get(notification, Tally()) + (
            tally_now - old.get(key, Tally())
        )
    return {notification: change for notification, change in changes.items() if change != Tally()}


def final_send(sends: Sequence[NotificationTraced]) -> NotificationTraced:
    """The provider answer that stands: a delivery if any, else the last attempt's answer."""
    delivered = [s for s in sends if s.outcome == "delivered"]
    if delivered:
        return min(delivered, key=lambda s: (s.occurred_at, s.attempt or 0))
    return max(sends, key=lambda s: (s.attempt or 0, s.occurred_at))


def tally(steps: Sequence[NotificationTraced]) -> Tally:
    """One user's tally, from their steps in any order (repeats included)."""
    stages = {step.stage for step in steps if step.device_id is None}
    devices: dict[str, set[uuid.UUID]] = defaultdict(set)
    sends: dict[uuid.UUID | None, list[NotificationTraced]] = defaultdict(list)
    withheld: dict[str, set[tuple[uuid.UUID | None, str | None]]] = defaultdict(set)
    for step in steps:
        if step.device_id is not None:
            devices[step.stage].add(step.device_id)
        if step.stage == "sent":
            sends[step.device_id].append(step)
        elif step.stage == "withheld":
            withheld[step.reason or "unspecified"].add((step.device_id, step.platform))
    finals = [final_send(attempts) for attempts in sends.values()]
    failed: dict[str, int] = defaultdict(int)
    for final in finals:
        if final.outcome != "delivered":
            failed[final.reason or final.outcome or "unspecified"] += 1
    expected = max(
        (sum(s.devices.values()) for s in steps if s.stage == "fanned_out"), default=None
    )
    answered: set[uuid.UUID] = set()
    for stage in DEVICE_ENDS:
        answered |= devices[stage]
    settled = any(_ends_user(s, bool(expected)) for s in steps) or (
        expected is not None and len(answered) >= expected
    )
    delivered_to = {
        device for device, attempts in sends.items() if final_send(attempts).outcome == "delivered"
    }
    all_stages = {step.stage for step in steps}
    return Tally(
        users=1,
        settled=int(settled),
        waiting=int("held" in all_stages and not all_stages & PAST_HOLD),
        devices_expected=expected or 0,
        held=int("held" in stages),
        released=int("released" in stages),
        expired=int("expired" in stages),
        cancelled=int("cancelled" in stages),
        no_device=int("no_device" in stages),
        sent=len(finals),
        delivered=sum(1 for final in finals if final.outcome == "delivered"),
        token_deactivated=len(devices["token_deactivated"]),
        opened=len(devices["opened"] & delivered_to),
        failed=dict(sorted(failed.items())),
        withheld={reason: len(keys) for reason, keys in sorted(withheld.items())},
    )


@dataclass(frozen=True)
class Summary:
    """A notification as a whole: what was sent, its counts, its status, and the steps that
    concern no one user (accepted; targeted, for a streamed audience; parked before it was split
    per user), in order."""

    accepted: NotificationTraced | None
    counts: Tally
    status: Status
    steps: list[NotificationTraced]
    users_targeted: int | None = None


def summary(own: Iterable[NotificationTraced], counts: Tally) -> Summary:
    """A notification from its own steps and the sum of its users' tallies."""
    ordered = in_order(own)
    accepted = next((step for step in ordered if step.stage == "accepted"), None)
    streamed = next((step for step in ordered if step.stage == "targeted"), None)
    targeted = next(
        (
            step.users
            for step in (accepted, streamed)
            if step is not None and step.users is not None
        ),
        None,
    )
    return Summary(accepted, counts, status_of(targeted, counts), ordered, targeted)


def summarize(steps: Iterable[NotificationTraced]) -> Summary:
    """A notification from all its steps (what the tracker's stored tallies add up to)."""
    own: list[NotificationTraced] = []
    users: dict[str, list[NotificationTraced]] = defaultdict(list)
    for step in steps:
        if step.user_id is None:
            own.append(step)
        else:
            users[step.user_id].append(step)
    return summary(own, sum((tally(user_steps) for user_steps in users.values()), Tally()))


def status_of(targeted: int | None, counts: Tally) -> Status:
    """``done`` once every targeted user is settled; ``held`` while every user it reached so far
    is settled or waiting on a hold (and all have been reached); ``accepted`` before any user's
    step; ``in_progress`` otherwise."""
    if targeted is not None and counts.settled >= targeted:
        return "done"
    if not counts.users:
        return "accepted"
    all_seen = targeted is None or counts.users >= targeted
    if all_seen and counts.waiting and counts.waiting + counts.settled >= counts.users:
        return "held"
    return "in_progress"


@dataclass(frozen=True)
class DeviceStory:
    """One device's steps and how it ended (``pending`` while the provider has not answered)."""

    device_id: uuid.UUID | None
    platform: Platform | None
    outcome: str
    provider_status: int | None
    reason: str | None
    until: datetime | None
    steps: list[NotificationTraced]


@dataclass(frozen=True)
class UserStory:
    """One user's timeline: their own steps, then each device's, and their tally."""

    steps: list[NotificationTraced]
    devices: list[DeviceStory]
    tally: Tally


def story(steps: Iterable[NotificationTraced]) -> UserStory:
    """One user's timeline from their steps, in the order they happened."""
    ordered = in_order(steps)
    by_device: dict[uuid.UUID, list[NotificationTraced]] = defaultdict(list)
    for step in ordered:
        if step.device_id is not None:
            by_device[step.device_id].append(step)
    return UserStory(
        steps=[step for step in ordered if step.device_id is None],
        devices=[device_story(device_steps) for device_steps in by_device.values()],
        tally=tally(ordered),
    )


def device_story(steps: Sequence[NotificationTraced]) -> DeviceStory:
    """How one device fared; ``steps`` in order."""
    sends = [s for s in steps if s.stage == "sent"]
    ended = [s for s in steps if s.stage in DEVICE_ENDS - {"sent"}]
    last = steps[-1]
    outcome: str
    if sends:
        deciding = final_send(sends)
        outcome = deciding.outcome or "sent"
    elif ended:
        deciding = ended[-1]
        outcome = deciding.stage
    else:
        deciding = last
        outcome = "retrying" if last.stage == "retry_scheduled" else "pending"
    return DeviceStory(
        device_id=last.device_id,
        platform=next((s.platform for s in steps if s.platform is not None), None),
        outcome=outcome,
        provider_status=deciding.provider_status,
        reason=deciding.reason,
        until=deciding.until,
        steps=list(steps),
    )


def reaches(steps: Iterable[NotificationTraced]) -> dict[tuple[str, str, uuid.UUID], datetime]:
    """When each (app, user, notification) first reached the user's inbox, from these steps."""
    first: dict[tuple[str, str, uuid.UUID], datetime] = {}
    for step in steps:
        if step.user_id is None or step.stage not in REACHED_USER:
            continue
        key = (step.app_id, step.user_id, step.notification_id)
        if key not in first or step.occurred_at < first[key]:
            first[key] = step.occurred_at
    return first


def last_active(steps: Iterable[NotificationTraced]) -> dict[tuple[str, uuid.UUID], datetime]:
    """Per (app, notification), the latest time these steps happened or said something waits for;
    retention counts from it."""
    latest: dict[tuple[str, uuid.UUID], datetime] = {}
    for step in steps:
        key = (step.app_id, step.notification_id)
        when = max(step.occurred_at, step.until) if step.until else step.occurred_at
        if key not in latest or when > latest[key]:
            latest[key] = when
    return latest


def read_mark(read_up_to: datetime | None, all_read: bool, changed_at: datetime) -> datetime | None:
    """The time up to which a badge change says everything is read (mark-all: when it happened)."""
    return changed_at if all_read else read_up_to


def is_read(reached_at: datetime, read_by_id: bool, read_up_to: datetime | None) -> bool:
    """Read when a device named it, or a watermark covers the time it reached the user."""
    return read_by_id or (read_up_to is not None and reached_at <= read_up_to)
