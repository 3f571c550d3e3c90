"""Which due copies a user's category opt-outs or a category's frequency cap withhold.

Pure: the caller passes each user's category choices, the pushes already counted against each
cap (from the ledger, inside the release transaction) and the time. Transactional copies and
copies without a category are never withheld here; quiet hours are planning's business.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from contracts.categories import FrequencyCap
from contracts.notifications import UserNotification, WithholdReason

#: A cap is counted per app, category and user.
CapKey = tuple[str, str, str]


@dataclass(frozen=True)
class Counted:
    """One push counted against a cap: which notification, and when it went out."""

    notification_id: UUID
    counted_at: datetime


@dataclass(frozen=True)
class Verdicts:
    """Per copy, in order: None to send, else why it is withheld; plus the pushes to count."""

    reasons: list[WithholdReason | None]
    newly_counted: list[tuple[CapKey, Counted]] = field(default_factory=list)


def opted_out(notification: UserNotification, categories: Mapping[str, bool]) -> bool:
    """True when the user's choice, or the category's default when they made none, is "no"."""
    if notification.transactional or notification.category is None:
        return False
    rules = notification.category_rules
    default = rules.default_enabled if rules is not None else True
    return not categories.get(notification.category, default)


def cap_of(notification: UserNotification) -> FrequencyCap | None:
    """The cap that applies to this copy: none for transactional or uncategorised copies."""
    if notification.transactional or notification.category is None:
        return None
    rules = notification.category_rules
    return rules.cap if rules is not None else None


def cap_key(notification: UserNotification) -> CapKey | None:
    """Where a capped copy is counted; None when no cap applies."""
    if cap_of(notification) is None or notification.category is None:
        return None
    return (notification.app_id, notification.category, notification.user_id)


def within_cap(cap: FrequencyCap, counted: Iterable[Counted], now: datetime) -> bool:
    """True while fewer than ``cap.limit`` pushes were counted in the window ending ``now``."""
    start = now - timedelta(seconds=cap.window_seconds)
    return sum(1 for push in counted if push.counted_at > start) < cap.limit


def judge(
    copies: Sequence[UserNotification],
    categories: Mapping[tuple[str, str], Mapping[str, bool]],
    ledger: Mapping[CapKey, Sequence[Counted]],
    now: datetime,
) -> Verdicts:
    """Decide every copy in order, counting the ones sent so later copies see them.

    A copy whose notification is already counted for its user (a redelivery, or a second copy of
    the same notification) goes out without being counted again.
    """
    counted = {key: list(pushes) for key, pushes in ledger.items()}
    reasons: list[WithholdReason | None] = []
    new: list[tuple[CapKey, Counted]] = []
    for copy in copies:
        if opted_out(copy, categories.get((copy.app_id, copy.user_id), {})):
            reasons.append("category_opt_out")
            continue
        cap, key = cap_of(copy), cap_key(copy)
        if cap is None or key is None:
            reasons.append(None)
            continue
        pushes = counted.setdefault(key, [])
        if any(push.notification_id == copy.notification_id for push in pushes):
            reasons.append(None)
        elif within_cap(cap, pushes, now):
            push = Counted(copy.notification_id, now)
            pushes.append(push)
            new.append((key, push))
            reasons.append(None)
        else:
            reasons.append("frequency_cap")
    return Verdicts(reasons, new)
