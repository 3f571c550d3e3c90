"""The public HTTP API for senders: POST a notification, authenticated by the app's API key."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Response
from pydantic import BaseModel, Field

from contracts.content import NotificationRequest
from services.ingest import metrics
from services.ingest.acceptance import Acceptor, IdempotencyConflict
from services.ingest.domain import RequestProblem
from shared.http import ApiError


class Accepted(BaseModel):
    """The answer to an accepted (or replayed) send request."""

    notification_id: uuid.UUID
    recipients: int | None = Field(
        description="Users targeted; null for an audience the registry finds (devices, a topic "
        "or condition, all, a segment)."
    )
    accepted_at: datetime
    status: str = "accepted"


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or unknown API key."},
    409: {"description": "The idempotency key was used with a different body."},
    422: {"description": "The request breaks a limit; the message names the field."},
}


def add_routes(app: FastAPI, acceptor: Acceptor, authenticated_app: Any) -> None:
    """Mount the sender API on ``app``."""

    @app.post(
        "/v1/notifications",
        status_code=202,
        response_model=Accepted,
        responses=ERRORS,
        tags=["notifications"],
        summary="Send a notification to users",
    )
    async def send_notification(
        request: NotificationRequest,
        response: Response,
        app_id: Annotated[str, Depends(authenticated_app)],
    ) -> Accepted:
        """Accepted once every recipient's event is durable; a replay returns the first answer."""
        try:
            acceptance = await acceptor.accept(app_id, request, source="http")
        except RequestProblem as problem:
            metrics.rejected("http", "invalid_request")
            raise ApiError(422, "invalid_request", str(problem), field=problem.field) from None
        except IdempotencyConflict as conflict:
            metrics.rejected("http", "idempotency_conflict")
            raise ApiError(
                409, "idempotency_conflict", str(conflict), field="idempotency_key"
            ) from None
        metrics.accepted("http", replayed=acceptance.replayed)
        if acceptance.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return Accepted(
            notification_id=acceptance.notification_id,
            recipients=acceptance.recipients,
            accepted_at=acceptance.accepted_at,
        )
