"""A message a consumer could not process, parked with its reason and original bytes."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime

from contracts.base import InternalMessage
from contracts.notifications import SourceRecord


class DeadLetter(InternalMessage):
    """Parked so the stream keeps flowing; an operator can inspect, fix and replay it."""

    type: Literal["dead_letter"] = "dead_letter"
    version: Literal[1] = 1
    event_id: uuid.UUID
    occurred_at: AwareDatetime
    reason: str
    consumer_group: str
    attempts: int
    source: SourceRecord
