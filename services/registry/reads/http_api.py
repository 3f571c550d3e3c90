"""Devices report what the user read; each report becomes an event on Kafka keyed by user.

A user token may report only for its own user, and only with one of that user's own devices; the
app's server key may report for any of its users. Reporting the same read twice is harmless:
badge-count ignores reads that change nothing.
"""

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from contracts import topics
from contracts.badges import ReadsReported
from contracts.base import AddressableUserId, PublicRequest
from services.registry.devices.store import DeviceStore
from shared.clock import Clock
from shared.http import ApiError, require_user
from shared.kafka import Publisher
from shared.tenancy.callers import Caller


class ReadReport(PublicRequest):
    """What was read: these notifications, everything that came due up to a time, or all."""

    device_id: uuid.UUID | None = Field(
        default=None, description="The device the user read on; it gets no sync push for it."
    )
    notification_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)
    up_to: AwareDatetime | None = Field(
        default=None, description="Everything that came due at or before this time is read."
    )
    all: bool = Field(default=False, description="Everything delivered so far is read.")

    @model_validator(mode="after")
    def _says_something(self) -> "ReadReport":
        if not (self.notification_ids or self.up_to or self.all):
            raise ValueError("a report needs notification_ids, up_to or all")
        return self


class ReportAccepted(BaseModel):
    report_id: uuid.UUID
    accepted_at: datetime
    status: str = "accepted"


def add_read_routes(
    app: FastAPI, store: DeviceStore, bus: Publisher, clock: Clock, authenticated_caller: Any
) -> None:
    """Mount the read-report route on ``app``."""

    @app.post(
        "/v1/users/{user_id:path}/reads",
        status_code=202,
        response_model=ReportAccepted,
        responses={
            401: {"description": "No valid API key or user token."},
            404: {"description": "No such user or device for this caller."},
            422: {"description": "The report breaks a limit or says nothing."},
        },
        tags=["reads"],
        summary="Report notifications the user read",
    )
    async def report_reads(
        user_id: AddressableUserId,
        report: ReadReport,
        caller: Annotated[Caller, Depends(authenticated_caller)],
    ) -> ReportAccepted:
        """Accepted once the report is on Kafka; badges and other devices update shortly after."""
        require_user(caller, user_id)
        if report.device_id is not None:
            device = await store.get(caller.app_id, report.device_id)
            if device is None or device.user_id != user_id:
                raise ApiError(
                    404,
                    "not_found",
                    f"no device {report.device_id} of this user",
                    field="device_id",
                )
        now = clock.now()
        event = ReadsReported(
            event_id=uuid.uuid4(),
            app_id=caller.app_id,
            occurred_at=now,
            user_id=user_id,
            device_id=report.device_id,
            notification_ids=report.notification_ids,
            up_to=report.up_to,
            all=report.all,
        )
        await bus.publish_all([(topics.READS, event)])
        return ReportAccepted(report_id=event.event_id, accepted_at=now)
