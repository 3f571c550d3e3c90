"""The narrow interface every platform's provider implements for the delivery loop."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from contracts.push import PushRequest
from services.dispatcher.domain import Verdict


class Provider(Protocol):
    """Sends one push once and says what the reply means; retries are the caller's business."""

    async def attempt(self, request: PushRequest, now: datetime) -> Verdict:
        """Render, send and classify one attempt; never raises for a provider's reply."""
        ...

    async def close(self) -> None:
        """Release connections and threads."""
        ...
