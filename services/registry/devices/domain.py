"""The devices' rules: which devices get a push, and what a push result changes about one.

Pure: no database, broker or clock. Callers pass the rows they read and the current time.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from contracts.base import derived_id
from contracts.notifications import NotificationCounted
from contracts.push import ApnsEnvironment, Platform, PushRequest, PushResult
from contracts.trace import NotificationTraced, Stage

#: The reason a device stops receiving when its app unregisters it (logout).
UNREGISTERED = "unregistered"
#: The reason used when a provider calls a token invalid without saying why.
TOKEN_INVALID = "token_invalid"  # noqa: S105 - a reason, not a secret
#: How exact ``last_success_at`` is: a delivery within this of the recorded success is not
#: written, so steady traffic does not rewrite a device's row on every push (a broadcast to a
#: million devices would otherwise update a million rows).
SUCCESS_RESOLUTION = timedelta(hours=1)
#: The reason a device stops receiving when it has not registered its token for too long.
STALE = "stale"


@dataclass(frozen=True)
class Device:
    """One registered token, owned by one user of one app."""

    device_id: uuid.UUID
    app_id: str
    user_id: str
    platform: Platform
    token: str
    locale: str | None
    time_zone: str | None
    app_version: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    last_registered_at: datetime
    last_success_at: datetime | None
    deactivated_at: datetime | None
    deactivation_reason: str | None
    #: APNs only: the environment that issued the token; None: the app's credentials' one.
    apns_environment: ApnsEnvironment | None = None


@dataclass(frozen=True)
class Registration:
    """What an app says about one of its tokens; the app id comes from its API key."""

    app_id: str
    user_id: str
    platform: Platform
    token: str
    locale: str | None = None
    time_zone: str | None = None
    app_version: str | None = None
    apns_environment: ApnsEnvironment | None = None


class DeviceCapReached(Exception):
    """A user already has as many active devices as an app may register for one user."""

    def __init__(self, user_id: str, cap: int) -> None:
        super().__init__(
            f"user {user_id!r} has {cap} active devices, the most one user may have "
            "(HERALD_MAX_DEVICES_PER_USER): unregister one (DELETE /v1/devices/{device_id}) first"
        )
        self.cap = cap


def is_stale(device: Device, now: datetime, stale_after: timedelta) -> bool:
    """True when an active device has not registered its token within ``stale_after``.

    A registration is the device's sign of life (apps refresh their token at launch), so its
    time is the device's last seen; a delivery the provider accepted is not: FCM accepts pushes
    to a token whose device has been offline for months.
    """
    return device.active and device.last_registered_at < now - stale_after


def is_forgotten(device: Device, now: datetime, delete_after: timedelta) -> bool:
    """True when an inactive device stopped more than ``delete_after`` ago: its row can go."""
    return (
        not device.active
        and device.deactivated_at is not None
        and device.deactivated_at < now - delete_after
    )


def adds_a_device(existing: Device | None, user_id: str) -> bool:
    """True when registering a token gives ``user_id`` one more active device: a new token, an
    inactive one, or one another user held."""
    return existing is None or not existing.active or existing.user_id != user_id


def recipients(counted: NotificationCounted, devices: Iterable[Device]) -> list[Device]:
    """The devices that receive ``counted``: the active devices of its user in its app, only
    those it names when its audience matched devices (a topic, a segment...)."""
    only = None if counted.device_ids is None else frozenset(counted.device_ids)
    return [
        device
        for device in devices
        if device.active
        and device.app_id == counted.app_id
        and device.user_id == counted.user_id
        and (only is None or device.device_id in only)
    ]


def user_locale(stated: str | None, devices: Iterable[Device]) -> str | None:
    """The user's locale: the one stated in their preferences, else that of their most recently
    registered device that reports one (the one they use now), else None."""
    if stated:
        return stated
    reporting = [device for device in devices if device.locale]
    if not reporting:
        return None
    return max(reporting, key=lambda device: device.last_registered_at).locale


def push_request(
    counted: NotificationCounted, device: Device, now: datetime, *, user_locale: str | None = None
) -> PushRequest:
    """The delivery of ``counted`` to ``device``, in the text for the device's locale (else its
    language, else ``user_locale``, else the default) and with no other variant.

    Its id derives from the notification event and the device, so a redelivered notification
    yields the same ids and dispatchers can drop the duplicate.
    """
    tag = counted.content.variant_for(device.locale, user_locale)
    return PushRequest(
        event_id=derived_id(counted.event_id, device.device_id),
        app_id=counted.app_id,
        occurred_at=now,
        notification_id=counted.notification_id,
        user_id=counted.user_id,
        device_id=device.device_id,
        platform=device.platform,
        token=device.token,
        apns_environment=device.apns_environment,
        content=counted.content.in_locale(tag),
        locale=tag,
        options=counted.options,
        badge=counted.badge,
        badge_seq=counted.badge_seq,
        accepted_at=counted.accepted_at,
    )


def fan_out(
    counted: NotificationCounted,
    devices: Iterable[Device],
    now: datetime,
    *,
    user_locale: str | None = None,
) -> list[PushRequest]:
    """One push request per device that should receive ``counted``, each in its locale's text."""
    return [
        push_request(counted, device, now, user_locale=user_locale)
        for device in recipients(counted, devices)
    ]


def is_about(device: Device, result: PushResult) -> bool:
    """True when ``result`` concerns the device's current token (not one it no longer has)."""
    return device.app_id == result.app_id and device.token == result.token


def deactivates(device: Device, result: PushResult) -> bool:
    """True when ``result`` proves the device's token dead.

    A token registered again after the provider's verdict (``invalid_since``) was issued anew by
    the device, so that verdict no longer applies to it.
    """
    if result.outcome != "token_invalid" or not device.active or not is_about(device, result):
        return False
    return result.invalid_since is None or result.invalid_since > device.last_registered_at


def apply_result(device: Device, result: PushResult, now: datetime) -> Device:
    """The device after ``result``: deactivated, with a newer last success (one at least
    SUCCESS_RESOLUTION after the recorded one), or unchanged."""
    if deactivates(device, result):
        return dataclasses.replace(
            device,
            active=False,
            deactivated_at=now,
            deactivation_reason=result.reason or TOKEN_INVALID,
            updated_at=now,
        )
    newer = (
        device.last_success_at is None
        or result.occurred_at - device.last_success_at >= SUCCESS_RESOLUTION
    )
    if result.outcome == "delivered" and is_about(device, result) and newer:
        return dataclasses.replace(device, last_success_at=result.occurred_at)
    return device


def apply_results(
    devices: Mapping[uuid.UUID, Device], results: Sequence[PushResult], now: datetime
) -> list[Device]:
    """The devices ``results`` change, in their new state; results apply in order.

    Results for devices not in ``devices`` (removed since) change nothing.
    """
    current = dict(devices)
    for result in results:
        device = current.get(result.device_id)
        if device is not None:
            current[result.device_id] = apply_result(device, result, now)
    return [device for device_id, device in current.items() if device != devices[device_id]]


def per_platform(devices: Iterable[Device | PushRequest]) -> dict[Platform, int]:
    """How many of ``devices`` (or pushes) each platform has."""
    counts: dict[Platform, int] = {}
    for device in devices:
        counts[device.platform] = counts.get(device.platform, 0) + 1
    return counts


def traced_fan_out(
    counted: NotificationCounted,
    pushes: Sequence[PushRequest],
    left_out: Sequence[Device],
    now: datetime,
) -> list[NotificationTraced]:
    """What fan-out did with ``counted``, for its timeline: ``fanned_out`` with the devices pushed
    per platform, ``withheld`` (channel_opt_out) with the devices the user's platform choices left
    out per platform, or ``no_device`` when the user has no active device at all."""

    def traced(stage: Stage, **fields: Any) -> NotificationTraced:
        return NotificationTraced.step(
            stage,
            app_id=counted.app_id,
            notification_id=counted.notification_id,
            occurred_at=now,
            user_id=counted.user_id,
            **fields,
        )

    if not pushes and not left_out:
        return [traced("no_device")]
    steps = [traced("fanned_out", devices=per_platform(pushes))] if pushes else []
    if left_out:
        steps.append(traced("withheld", reason="channel_opt_out", devices=per_platform(left_out)))
    return steps


def traced_deactivations(
    changed: Iterable[tuple[Device, Device]], results: Sequence[PushResult], now: datetime
) -> list[NotificationTraced]:
    """A ``token_deactivated`` step for each device ``results`` deactivated (before, after), in
    the timeline of the notification whose result proved its token dead."""
    steps = []
    for before, after in changed:
        if not before.active or after.active:
            continue
        cause = next(
            r for r in results if r.device_id == before.device_id and deactivates(before, r)
        )
        steps.append(
            NotificationTraced.step(
                "token_deactivated",
                app_id=after.app_id,
                notification_id=cause.notification_id,
                occurred_at=now,
                user_id=cause.user_id,
                device_id=after.device_id,
                platform=after.platform,
                reason=after.deactivation_reason or TOKEN_INVALID,
            )
        )
    return steps
