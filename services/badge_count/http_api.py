"""The badge query API: a user's current badge and unread list, for the app's server or the user."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query
from pydantic import BaseModel

from contracts.base import UserId
from services.badge_count.store import BadgeStore
from shared.http import require_user
from shared.tenancy.callers import Caller


class UnreadNotification(BaseModel):
    notification_id: uuid.UUID
    accepted_at: datetime
    due_at: datetime


class BadgeView(BaseModel):
    """The badge a device should show, how it is made up, and what is unread."""

    user_id: str
    badge: int
    badge_seq: int
    tracked_unread: int
    set_by_sender: int
    read_up_to: datetime | None
    unread: list[UnreadNotification]


def add_routes(app: FastAPI, store: BadgeStore, authenticated_caller: Any) -> None:
    """Mount the badge query API on ``app``."""

    @app.get(
        "/v1/users/{user_id:path}/badge",
        response_model=BadgeView,
        tags=["badges"],
        summary="A user's badge and unread notifications",
        responses={401: {"description": "No valid credential."}, 404: {"description": "Not you."}},
    )
    async def get_badge(
        user_id: UserId,
        caller: Annotated[Caller, Depends(authenticated_caller)],
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> BadgeView:
        """With a user token, only the token's own user; with the app's key, any of its users."""
        require_user(caller, user_id)
        state = await store.badge_of(caller.app_id, user_id)
        unread = await store.unread_of(caller.app_id, user_id, limit)
        return BadgeView(
            user_id=user_id,
            badge=state.badge,
            badge_seq=state.seq,
            tracked_unread=state.tracked,
            set_by_sender=state.baseline,
            read_up_to=state.read_up_to,
            unread=[
                UnreadNotification(
                    notification_id=u.notification_id, accepted_at=u.accepted_at, due_at=u.due_at
                )
                for u in unread
            ],
        )
