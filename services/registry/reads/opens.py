"""Devices report that the user opened a notification; each report is an ``opened`` step on the
notification's timeline (notifications.trace).

A user token reports only with one of its own user's devices; the app's server key may report
with any of its devices. The step's id derives from the notification and the device, so a device
reporting the same open twice counts once.
"""

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field

from contracts import topics
from contracts.base import PublicRequest
from contracts.trace import NotificationTraced
from services.registry.devices.store import DeviceStore
from shared.clock import Clock
from shared.http import ApiError
from shared.kafka import Publisher
from shared.tenancy.callers import Caller


class OpenReport(PublicRequest):
    """Which device the notification was opened on."""

    device_id: uuid.UUID = Field(description="The device the user opened the notification on.")


class OpenAccepted(BaseModel):
    accepted_at: datetime
    status: str = "accepted"


def add_open_routes(
    app: FastAPI, store: DeviceStore, bus: Publisher, clock: Clock, authenticated_caller: Any
) -> None:
    """Mount the open-report route on ``app``."""

    @app.post(
        "/v1/notifications/{notification_id}/opened",
        status_code=202,
        response_model=OpenAccepted,
        responses={
            401: {"description": "No valid API key or user token."},
            404: {"description": "No such device for this caller."},
            422: {"description": "The body names no device, or a field Herald does not know."},
        },
        tags=["reads"],
        summary="Report that the user opened a notification on a device",
    )
    async def report_opened(
        notification_id: uuid.UUID,
        report: OpenReport,
        caller: Annotated[Caller, Depends(authenticated_caller)],
    ) -> OpenAccepted:
        """Accepted once the step is on Kafka."""
        device = await store.get(caller.app_id, report.device_id)
        if device is None or caller.user_id not in (None, device.user_id):
            raise ApiError(
                404, "not_found", f"no device {report.device_id} of yours", field="device_id"
            )
        now = clock.now()
        opened = NotificationTraced.step(
            "opened",
            app_id=caller.app_id,
            notification_id=notification_id,
            occurred_at=now,
            user_id=device.user_id,
            device_id=device.device_id,
            platform=device.platform,
        )
        await bus.publish_all([(topics.TRACE, opened)])
        return OpenAccepted(accepted_at=now)
