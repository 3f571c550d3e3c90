"""The webhooks API: an app's server key with the admin scope registers where the app's outcomes
are POSTed. The signing secret is in the answer to the creation, and never again.

Each change is stored and announced on ``apps.changed`` before the answer, so the webhooks service
starts POSTing moments later. Annotations stay evaluated (no ``from __future__ import
annotations``) for FastAPI.
"""

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Response
from pydantic import BaseModel, Field

from contracts.apps import DEFAULT_WEBHOOK_STAGES
from contracts.base import PublicRequest
from contracts.trace import Stage
from services.registry.apps.admin import AppAdmin
from services.registry.apps.domain import AdminError, checked_webhook_url
from services.registry.apps.webhook_store import WebhookInfo
from shared.http import ApiError


class WebhookBody(PublicRequest):
    """Where to POST, and which trace stages."""

    url: str = Field(max_length=2048, description="An https URL on a public address.")
    stages: list[Stage] | None = Field(
        default=None,
        min_length=1,
        description=f"Trace stages to POST (default: {', '.join(DEFAULT_WEBHOOK_STAGES)}).",
    )


class Webhook(BaseModel):
    webhook_id: uuid.UUID
    url: str
    stages: list[str]
    created_at: datetime


class CreatedWebhook(Webhook):
    secret: str = Field(description="Verifies each POST's Herald-Signature; shown this once.")


class WebhookList(BaseModel):
    webhooks: list[Webhook]


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or unknown API key."},
    403: {"description": "The key lacks the admin scope, or a user token was used."},
    404: {"description": "No such webhook, or an app not managed with herald apps create."},
    422: {"description": "A URL that is not https or not public, an unknown stage or field."},
}


def _described(info: WebhookInfo) -> Webhook:
    return Webhook(
        webhook_id=info.webhook_id, url=info.url, stages=info.stages, created_at=info.created_at
    )


def add_webhook_routes(
    app: FastAPI, admin: AppAdmin, app_dependency: Any, *, prefix: str = "/v1"
) -> None:
    """Mount the webhooks API under ``prefix``; ``app_dependency`` answers the app managed, once
    the caller may manage it: the admin key's own app under /v1, or the ``{app_id}`` of
    /v1/admin/apps/{app_id} (shared.http.app_of, AdminAccess.managed_app)."""
    app_of = Depends(app_dependency)

    @app.post(
        prefix + "/webhooks",
        status_code=201,
        response_model=CreatedWebhook,
        responses=_ERRORS,
        tags=["webhooks"],
        summary="Register a webhook (its secret is shown once)",
    )
    async def create_webhook(body: WebhookBody, app_id: Annotated[str, app_of]) -> CreatedWebhook:
        try:
            checked_webhook_url(body.url, admin.webhook_networks)
        except AdminError as error:
            raise ApiError(422, "invalid_request", str(error), field="url") from None
        try:
            info, secret = await admin.create_webhook(app_id, body.url, body.stages)
        except AdminError as error:
            raise ApiError(404, "not_found", str(error)) from None
        return CreatedWebhook(**_described(info).model_dump(), secret=secret)

    @app.get(
        prefix + "/webhooks",
        response_model=WebhookList,
        responses=_ERRORS,
        tags=["webhooks"],
        summary="List the app's webhooks (never their secrets)",
    )
    async def list_webhooks(app_id: Annotated[str, app_of]) -> WebhookList:
        try:
            found = await admin.webhooks(app_id)
        except AdminError as error:
            raise ApiError(404, "not_found", str(error)) from None
        return WebhookList(webhooks=[_described(info) for info in found])

    @app.delete(
        prefix + "/webhooks/{webhook_id}",
        status_code=204,
        responses=_ERRORS,
        tags=["webhooks"],
        summary="Delete a webhook",
    )
    async def delete_webhook(webhook_id: uuid.UUID, app_id: Annotated[str, app_of]) -> Response:
        """Nothing more is POSTed to it; deliveries waiting for a retry are dropped."""
        try:
            await admin.delete_webhook(app_id, webhook_id)
        except AdminError as error:
            raise ApiError(404, "not_found", str(error), field="webhook_id") from None
        return Response(status_code=204)
