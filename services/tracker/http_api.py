"""The timeline API: a notification's status and counts, one user's timeline, and a user's inbox.

The app comes from the credential: another app's notification is answered 404 like an unknown one.
A user token sees only its own user's timeline and inbox; the counts are for the app's server.
"""

import base64
import binascii
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query
from pydantic import BaseModel

from contracts.base import UserId
from contracts.content import Content
from contracts.push import Platform
from contracts.trace import NotificationTraced, Stage
from services.tracker import domain
from services.tracker.store import TrackerStore
from shared.http import ApiError, require_user
from shared.tenancy.callers import Caller

MAX_PAGE = 100
#: Each listed notification costs two queries: the list stays short.
MAX_RECENT = 50


class StepView(BaseModel):
    """One step; fields the step does not have are left out."""

    stage: Stage
    occurred_at: datetime
    reason: str | None = None
    until: datetime | None = None
    outcome: str | None = None
    provider_status: int | None = None
    attempt: int | None = None
    badge: int | None = None
    platform: Platform | None = None
    devices: dict[Platform, int] | None = None


class CountsView(BaseModel):
    """Users per user-level stage and devices per device-level stage, each counted once."""

    users_targeted: int | None
    devices_targeted: int
    held: int
    released: int
    sent: int
    delivered: int
    failed: dict[str, int]
    withheld: dict[str, int]
    expired: int
    cancelled: int
    no_device: int
    token_deactivated: int
    opened: int
    open_rate: float | None


class NotificationView(BaseModel):
    """What was sent and what became of it."""

    notification_id: uuid.UUID
    status: domain.Status
    idempotency_key: str | None
    accepted_at: datetime | None
    category: str | None
    content: Content | None
    counts: CountsView
    steps: list[StepView]


class RecentView(BaseModel):
    """An app's newest notifications, newest first."""

    notifications: list[NotificationView]


class DeviceView(BaseModel):
    device_id: uuid.UUID | None
    platform: Platform | None
    outcome: str
    provider_status: int | None
    reason: str | None
    until: datetime | None
    steps: list[StepView]


class UserTimelineView(BaseModel):
    """One user's part: their own steps, then each device's."""

    notification_id: uuid.UUID
    user_id: str
    status: Literal["held", "in_progress", "done"]
    steps: list[StepView]
    devices: list[DeviceView]


class InboxItem(BaseModel):
    notification_id: uuid.UUID
    received_at: datetime
    read: bool
    accepted_at: datetime | None
    category: str | None
    content: Content | None


class InboxView(BaseModel):
    """A page of a user's notifications, newest first; ``next_cursor`` fetches the next page."""

    user_id: str
    notifications: list[InboxItem]
    next_cursor: str | None


def step_view(step: NotificationTraced) -> StepView:
    return StepView(
        stage=step.stage,
        occurred_at=step.occurred_at,
        reason=step.reason,
        until=step.until,
        outcome=step.outcome,
        provider_status=step.provider_status,
        attempt=step.attempt,
        badge=step.badge,
        platform=step.platform,
        devices=dict(step.devices) or None,
    )


def notification_view(notification_id: uuid.UUID, summary: domain.Summary) -> NotificationView:
    counts, accepted = summary.counts, summary.accepted
    return NotificationView(
        notification_id=notification_id,
        status=summary.status,
        idempotency_key=accepted.idempotency_key if accepted else None,
        accepted_at=accepted.occurred_at if accepted else None,
        category=accepted.category if accepted else None,
        content=accepted.content if accepted else None,
        counts=CountsView(
            users_targeted=summary.users_targeted,
            devices_targeted=counts.devices_expected,
            held=counts.held,
            released=counts.released,
            sent=counts.sent,
            delivered=counts.delivered,
            failed=counts.failed,
            withheld=counts.withheld,
            expired=counts.expired,
            cancelled=counts.cancelled,
            no_device=counts.no_device,
            token_deactivated=counts.token_deactivated,
            opened=counts.opened,
            open_rate=counts.open_rate,
        ),
        steps=[step_view(step) for step in summary.steps],
    )


def timeline_view(
    notification_id: uuid.UUID, user_id: str, story: domain.UserStory
) -> UserTimelineView:
    tally = story.tally
    status: Literal["held", "in_progress", "done"] = (
        "done" if tally.settled else "held" if tally.waiting else "in_progress"
    )
    return UserTimelineView(
        notification_id=notification_id,
        user_id=user_id,
        status=status,
        steps=[step_view(step) for step in story.steps],
        devices=[
            DeviceView(
                device_id=device.device_id,
                platform=device.platform,
                outcome=device.outcome,
                provider_status=device.provider_status,
                reason=device.reason,
                until=device.until,
                steps=[step_view(step) for step in device.steps],
            )
            for device in story.devices
        ],
    )


def encode_cursor(reached_at: datetime, notification_id: uuid.UUID) -> str:
    raw = f"{reached_at.isoformat()}|{notification_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The position a cursor names; 422 for anything this API did not hand out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, notification_id = raw.split("|")
        position = (datetime.fromisoformat(when), uuid.UUID(notification_id))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(
            422, "invalid_request", "not a cursor from this API", field="cursor"
        ) from None
    if position[0].tzinfo is None:
        raise ApiError(422, "invalid_request", "not a cursor from this API", field="cursor")
    return position


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", what)


def add_routes(app: FastAPI, store: TrackerStore, *, servers: Any, servers_or_users: Any) -> None:
    """Mount the timeline API on ``app``; ``servers`` and ``servers_or_users`` authorize callers."""
    missing: dict[int | str, dict[str, Any]] = {
        401: {"description": "No valid credential."},
        404: {"description": "Not found."},
    }

    @app.get(
        "/v1/notifications",
        response_model=NotificationView,
        tags=["tracking"],
        summary="The notification a send with this idempotency key became",
        responses=missing,
    )
    async def find_notification(
        idempotency_key: Annotated[str, Query(min_length=1, max_length=128)],
        caller: Annotated[Caller, Depends(servers)],
    ) -> NotificationView:
        """How a sender over Kafka, which never saw an HTTP answer, learns the notification id
        (to follow or cancel it): only its own app's sends are found."""
        notification_id = await store.accepted_by_key(caller.app_id, idempotency_key)
        if notification_id is None:
            raise not_found(f"no accepted notification with idempotency key {idempotency_key!r}")
        return await get_notification(notification_id, caller)

    @app.get(
        "/v1/notifications/recent",
        response_model=RecentView,
        tags=["tracking"],
        summary="The app's newest notifications with their status and counts",
        responses=missing,
    )
    async def recent_notifications(
        caller: Annotated[Caller, Depends(servers)],
        limit: Annotated[int, Query(ge=1, le=MAX_RECENT)] = 20,
    ) -> RecentView:
        """What the console lists: the app's last sends (by when each was accepted)."""
        ids = await store.newest_accepted(caller.app_id, limit)
        own = await store.own_steps_of_each(caller.app_id, ids)
        counts = await store.counts_of_each(caller.app_id, ids)
        return RecentView(
            notifications=[notification_view(n, domain.summary(own[n], counts[n])) for n in ids]
        )

    @app.get(
        "/v1/notifications/{notification_id}",
        response_model=NotificationView,
        tags=["tracking"],
        summary="A notification's status and counts",
        responses=missing,
    )
    async def get_notification(
        notification_id: uuid.UUID, caller: Annotated[Caller, Depends(servers)]
    ) -> NotificationView:
        """Users, devices and outcomes so far, each counted once, and the open rate."""
        own = await store.own_steps_of(caller.app_id, notification_id)
        counts = await store.counts_of(caller.app_id, notification_id)
        if not own and not counts.users:
            raise not_found(f"no notification {notification_id}")
        return notification_view(notification_id, domain.summary(own, counts))

    @app.get(
        "/v1/notifications/{notification_id}/users/{user_id:path}",
        response_model=UserTimelineView,
        response_model_exclude_none=True,
        tags=["tracking"],
        summary="What happened to a notification for one user, step by step",
        responses=missing,
    )
    async def get_user_timeline(
        notification_id: uuid.UUID,
        user_id: UserId,
        caller: Annotated[Caller, Depends(servers_or_users)],
    ) -> UserTimelineView:
        """With a user token, only the token's own user; with the app's key, any of its users."""
        require_user(caller, user_id)
        steps = await store.timeline_of(caller.app_id, notification_id, user_id)
        if not steps:
            raise not_found(f"no step of notification {notification_id} for user {user_id!r}")
        return timeline_view(notification_id, user_id, domain.story(steps))

    @app.get(
        "/v1/users/{user_id:path}/notifications",
        response_model=InboxView,
        tags=["tracking"],
        summary="A user's notifications, newest first, with read state",
        responses=missing,
    )
    async def get_inbox(
        user_id: UserId,
        caller: Annotated[Caller, Depends(servers_or_users)],
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
        cursor: str | None = None,
    ) -> InboxView:
        """Notifications that reached the user (counted on their badge); pass ``next_cursor``
        back as ``cursor`` for older ones."""
        require_user(caller, user_id)
        after = decode_cursor(cursor) if cursor else None
        rows = await store.inbox_of(caller.app_id, user_id, limit + 1, after)
        page = rows[:limit]
        last = page[-1] if len(rows) > limit else None
        return InboxView(
            user_id=user_id,
            notifications=[
                InboxItem(
                    notification_id=row.notification_id,
                    received_at=row.reached_at,
                    read=domain.is_read(row.reached_at, row.read_by_id, row.read_up_to),
                    accepted_at=row.accepted.occurred_at if row.accepted else None,
                    category=row.accepted.category if row.accepted else None,
                    content=row.accepted.content if row.accepted else None,
                )
                for row in page
            ],
            next_cursor=encode_cursor(last.reached_at, last.notification_id) if last else None,
        )
