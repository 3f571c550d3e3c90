"""Common shape of every event: who it belongs to, when it happened, and how to dedupe it.

Events are frozen and ignore unknown fields, so a producer may add an optional field before its
consumers are upgraded (rolling deploys) without breaking them.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

#: Namespace for ids derived from other ids: the same inputs always give the same event id, so a
#: re-run of a step after a crash produces duplicates that downstream dedupe recognises.
HERALD_NAMESPACE = uuid.UUID("6f1d9a52-3c1e-4b7a-9f0e-2d8c5b4a7e10")

AppId = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$"),
    Field(
        description="The tenant: lower-case letters, digits, '-' and '_', at most 63 characters."
    ),
]
UserId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[^\s\x00-\x1f]+$"),
    Field(description="The app's own id for a user: 1-128 characters, no whitespace."),
]


def derived_id(*parts: object) -> uuid.UUID:
    """A stable id for an event derived from others (one per notification x user, x device...)."""
    return uuid.uuid5(HERALD_NAMESPACE, "/".join(str(p) for p in parts))


class Model(BaseModel):
    """A value inside an event: frozen, tolerant of fields a newer producer added."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Event(Model):
    """Base of every message on a Herald topic.

    Subclasses pin ``type`` and ``version`` with literals; ``event_id`` is the dedupe key;
    ``occurred_at`` is when the producer created the event.
    """

    type: str
    version: int
    event_id: uuid.UUID
    app_id: AppId
    occurred_at: AwareDatetime
