"""What a notification's recorded steps add up to: its counts, its status, each user's story.
A user's tally moves step by step through their ``Progress``, so repeats and any order of
arrival leave the same tally."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from operator import attrgetter
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
            name: mine + theirs
            for name, mine, theirs in zip(COUNTS, _counts(self), _counts(other), strict=True)
        }
        return Tally(
            **numbers,
            failed=_merged(self.failed, other.failed),
            withheld=_merged(self.withheld, other.withheld),
        )

    def __sub__(self, other: Tally) -> Tally:
        """What turns ``other`` into this tally: numbers and reason counts may be negative, a
        reason whose count does not change is absent."""
        negated = {name: -count for name, count in zip(COUNTS, _counts(other), strict=True)}
        return self + Tally(
            **negated,
            failed={reason: -count for reason, count in other.failed.items()},
            withheld={reason: -count for reason, count in other.withheld.items()},
        )

    @property
    def open_rate(self) -> float | None:
        """Devices that opened it per device it was delivered to; None before any delivery."""
        return round(self.opened / self.delivered, 4) if self.delivered else None


#: Tally's number fields, in order, and a function that reads them off a tally as a tuple.
COUNTS = tuple(f.name for f in fields(Tally) if f.name not in {"failed", "withheld"})
_counts = attrgetter(*COUNTS)
_NO_TALLY = Tally()
_NO_COUNTS = [0] * len(COUNTS)


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
    numbers: dict[tuple[str, uuid.UUID], list[int]] = {}
    reasons: dict[tuple[str, uuid.UUID], tuple[dict[str, int], dict[str, int]]] = {}
    for key, now in new.items():
        was = old.get(key, _NO_TALLY)
        if now == was:
            continue
        notification = key[:2]
        numbers[notification] = [
            moved + count_now - count_was
            for moved, count_now, count_was in zip(
                numbers.get(notification, _NO_COUNTS), _counts(now), _counts(was), strict=True
            )
        ]
        failed, withheld = reasons.setdefault(notification, ({}, {}))
        _move(failed, now.failed, was.failed)
        _move(withheld, now.withheld, was.withheld)
    changes = {
        notification: Tally(
            **dict(zip(COUNTS, moved, strict=True)),
            failed=_merged(reasons[notification][0], {}),
            withheld=_merged(reasons[notification][1], {}),
        )
        for notification, moved in numbers.items()
    }
    return {notification: change for notification, change in changes.items() if change != _NO_TALLY}


def _move(counts: dict[str, int], now: Mapping[str, int], was: Mapping[str, int]) -> None:
    """Add to ``counts`` what turns reason counts ``was`` into ``now``."""
    for reason, count in now.items():
        counts[reason] = counts.get(reason, 0) + count
    for reason, count in was.items():
        counts[reason] = counts.get(reason, 0) - count


def final_send(sends: Sequence[NotificationTraced]) -> NotificationTraced:
    """The provider answer that stands: a delivery if any, else the last attempt's answer."""
    delivered = [s for s in sends if s.outcome == "delivered"]
    if delivered:
        return min(delivered, key=lambda s: (s.occurred_at, s.attempt or 0))
    return max(sends, key=lambda s: (s.attempt or 0, s.occurred_at, failure_of(s)))


def failure_of(send: NotificationTraced) -> str:
    """The reason a failed send is counted under; it also orders exact ties between attempts."""
    return send.reason or send.outcome or "unspecified"


def tally(steps: Iterable[NotificationTraced]) -> Tally:
    """One user's tally, from their steps in any order (repeats included)."""
    progress = Progress()
    for step in steps:
        progress.add(step)
    return progress.tally()


#: A device's standing provider answer: None once delivered (nothing later undoes a delivery),
#: else the latest attempt's (attempt, microseconds since the epoch, failure reason).
Answer = tuple[int, int, str] | None
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass
class Progress:
    """What one user's steps so far leave behind that a further step's effect depends on, so a
    tally moves step by step without re-reading the steps. Adding a step twice, or steps in any
    order, ends in the same tally; devices are named by their id as text ("" for none).

    ``expected``: the most devices a fan-out named (None before one); ``ended``: a step ended the
    user's part whatever else happens; ``opted_out``: devices were left out by a channel opt-out,
    which ends it only if no device was pushed to; ``withheld``: per reason, "device/platform".
    """

    stages: set[str] = field(default_factory=set)
    own_stages: set[str] = field(default_factory=set)
    expected: int | None = None
    ended: bool = False
    opted_out: bool = False
    answered: set[str] = field(default_factory=set)
    deactivated: set[str] = field(default_factory=set)
    opened: set[str] = field(default_factory=set)
    answers: dict[str, Answer] = field(default_factory=dict)
    withheld: dict[str, set[str]] = field(default_factory=dict)

    def add(self, step: NotificationTraced) -> None:
        """Fold in one step of this user."""
        stage = step.stage
        self.stages.add(stage)
        device = "" if step.device_id is None else str(step.device_id)
        if step.device_id is None:
            self.own_stages.add(stage)
            if stage in USER_ENDS:
                self.ended = True
            elif stage == "withheld" and step.devices:
                self.opted_out = True
            elif stage in {"withheld", "parked"} and step.platform is None:
                # Withheld or parked for the user as a whole; for one platform, only that channel.
                self.ended = True
        elif stage in DEVICE_ENDS:
            self.answered.add(device)
        if stage == "token_deactivated" and step.device_id is not None:
            self.deactivated.add(device)
        elif stage == "opened" and step.device_id is not None:
            self.opened.add(device)
        elif stage == "fanned_out":
            pushed = sum(step.devices.values())
            self.expected = pushed if self.expected is None else max(self.expected, pushed)
        elif stage == "sent":
            self._answer(device, step)
        elif stage == "withheld":
            reason = step.reason or "unspecified"
            self.withheld.setdefault(reason, set()).add(f"{device}/{step.platform or ''}")

    def _answer(self, device: str, step: NotificationTraced) -> None:
        """The answer that stands (see final_send): a delivery, else the latest attempt's, ties
        decided by the reason, so the order steps are added in never matters."""
        if device in self.answers and self.answers[device] is None:
            return
        if step.outcome == "delivered":
            self.answers[device] = None
            return
        standing = self.answers.get(device)
        answer = (
            step.attempt or 0,
            (step.occurred_at - _EPOCH) // _MICROSECOND,
            failure_of(step),
        )
        if standing is None or answer > standing:
            self.answers[device] = answer

    def tally(self) -> Tally:
        """The user's tally as these steps leave it."""
        delivered_to = {device for device, answer in self.answers.items() if answer is None}
        failed: dict[str, int] = defaultdict(int)
        for answer in self.answers.values():
            if answer is not None:
                failed[answer[2]] += 1
        expected = self.expected
        settled = (
            self.ended
            or (self.opted_out and not expected)
            or (expected is not None and len(self.answered) >= expected)
        )
        own = self.own_stages
        return Tally(
            users=1,
            settled=int(settled),
            waiting=int("held" in self.stages and not self.stages & PAST_HOLD),
            devices_expected=expected or 0,
            held=int("held" in own),
            released=int("released" in own),
            expired=int("expired" in own),
            cancelled=int("cancelled" in own),
            no_device=int("no_device" in own),
            sent=len(self.answers),
            delivered=len(delivered_to),
            token_deactivated=len(self.deactivated),
            opened=len(self.opened & delivered_to),
            failed=dict(sorted(failed.items())),
            withheld={reason: len(keys) for reason, keys in sorted(self.withheld.items())},
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
