"""Webhooks: where an app wants its notifications' outcomes POSTed, and a batch of them on its way.

An app registers an https URL and the trace stages it wants (shared/platforms/endpoints.py says
which addresses Herald may call); the registry announces it on ``apps.changed`` with its signing
secret sealed. The webhooks service turns the app's ``notification.traced`` events into
deliveries: small batches, one webhook each, tried and retried on topics of their own.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, Field

from contracts.base import InternalEvent
from contracts.trace import NotificationTraced


class WebhookDelivery(InternalEvent):
    """A batch of one app's trace events for one of its webhooks, as it will be POSTed.

    ``event_id`` is the delivery's id (the receiver sees it in ``Herald-Delivery``), the same on
    every attempt. ``attempt`` counts the POSTs made so far; ``not_before`` is when the next may
    go; ``deadline`` is set at the first failure: a delivery still failing past it is parked.
    """

    type: Literal["webhook.delivery"] = "webhook.delivery"
    version: Literal[1] = 1
    webhook_id: uuid.UUID
    events: list[NotificationTraced] = Field(min_length=1)
    attempt: int = Field(default=0, ge=0)
    not_before: AwareDatetime | None = None
    deadline: AwareDatetime | None = None
    last_reason: str | None = Field(default=None, max_length=500)
