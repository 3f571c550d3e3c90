"""How badge changes become sync pushes: merging a burst, who gets them, APNs wake budget. Pure.

A burst of reads from one user within the merge window becomes one sync per device. The device
that reported every read of the burst already knows; everybody else gets the merged result.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from contracts.badges import BadgeChanged
from contracts.base import derived_id
from contracts.content import Content, DeliveryOptions
from contracts.push import BadgeSync, PushRequest
from services.registry.devices.domain import Device

#: BadgeSync carries at most this many ids; the newest are kept.
MAX_SYNC_IDS = 100
SYNC_COLLAPSE_KEY = "herald-badge-sync"
SYNC_TTL_SECONDS = 86_400


@dataclass(frozen=True)
class PendingSync:
    """The merged state of a user's badge changes not sent yet."""

    app_id: str
    user_id: str
    badge: int
    badge_seq: int
    read_ids: tuple[uuid.UUID, ...]
    read_up_to: datetime | None
    all_read: bool
    only_reporter: uuid.UUID | None
    mixed_reporters: bool
    first_change_at: datetime
    flush_at: datetime

    @property
    def excluded_device(self) -> uuid.UUID | None:
        """The device that reported every change of the burst: it needs no sync."""
        return None if self.mixed_reporters else self.only_reporter


def merge(
    pending: PendingSync | None,
    change: BadgeChanged,
    *,
    last_sent_seq: int | None,
    now: datetime,
    window: timedelta,
) -> PendingSync | None:
    """Fold ``change`` into what waits; None when it is older than what devices already have.

    The newest badge wins (by sequence), read ids accumulate, the watermark only moves forward.
    The flush time is set by the first change of a burst, so a stream of reads cannot delay it.
    """
    if last_sent_seq is not None and change.badge_seq <= last_sent_seq:
        return pending
    if pending is None:
        return PendingSync(
            app_id=change.app_id,
            user_id=change.user_id,
            badge=change.badge,
            badge_seq=change.badge_seq,
            read_ids=tuple(change.read_notification_ids[-MAX_SYNC_IDS:]),
            read_up_to=change.read_up_to,
            all_read=change.all_read,
            only_reporter=change.reported_by_device,
            mixed_reporters=change.reported_by_device is None,
            first_change_at=now,
            flush_at=now + window,
        )
    newer = change.badge_seq > pending.badge_seq
    ids = tuple(dict.fromkeys((*pending.read_ids, *change.read_notification_ids)))
    marks = [mark for mark in (pending.read_up_to, change.read_up_to) if mark is not None]
    return replace(
        pending,
        badge=change.badge if newer else pending.badge,
        badge_seq=max(pending.badge_seq, change.badge_seq),
        read_ids=ids[-MAX_SYNC_IDS:],
        read_up_to=max(marks) if marks else None,
        all_read=pending.all_read or change.all_read,
        mixed_reporters=pending.mixed_reporters
        or change.reported_by_device is None
        or change.reported_by_device != pending.only_reporter,
    )


@dataclass(frozen=True)
class WakeBudget:
    """APNs background pushes sent to one device in the current window."""

    window_start: datetime
    sent: int


def spend_wake(budget: WakeBudget | None, now: datetime, *, per_hour: int) -> WakeBudget | None:
    """The budget after one more background push, or None when the hour's budget is spent."""
    if budget is None or now - budget.window_start >= timedelta(hours=1):
        return WakeBudget(window_start=now, sent=1) if per_hour > 0 else None
    if budget.sent >= per_hour:
        return None
    return WakeBudget(window_start=budget.window_start, sent=budget.sent + 1)


def sync_request(
    pending: PendingSync, device: Device, now: datetime, *, wake_app: bool
) -> PushRequest:
    """One quiet sync push to ``device``; ids derive from the user, sequence and device."""
    burst = derived_id("sync", pending.app_id, pending.user_id, pending.badge_seq)
    return PushRequest(
        event_id=derived_id(burst, device.device_id, "wake" if wake_app else "badge"),
        app_id=pending.app_id,
        occurred_at=now,
        notification_id=burst,
        user_id=pending.user_id,
        device_id=device.device_id,
        platform=device.platform,
        token=device.token,
        apns_environment=device.apns_environment,
        content=Content(),
        options=DeliveryOptions(
            priority="normal",
            ttl_seconds=SYNC_TTL_SECONDS,
            collapse_key=SYNC_COLLAPSE_KEY,
            badge="leave",
        ),
        badge=pending.badge,
        badge_seq=pending.badge_seq,
        accepted_at=pending.first_change_at,
        sync=BadgeSync(
            badge=pending.badge,
            badge_seq=pending.badge_seq,
            read_notification_ids=list(pending.read_ids),
            read_up_to=pending.read_up_to,
            all_read=pending.all_read,
            wake_app=wake_app,
        ),
    )


def sync_recipients(pending: PendingSync, devices: list[Device]) -> list[Device]:
    """The user's active devices in the app, minus the one that reported the whole burst."""
    return [
        device
        for device in devices
        if device.active
        and device.app_id == pending.app_id
        and device.user_id == pending.user_id
        and device.device_id != pending.excluded_device
    ]
