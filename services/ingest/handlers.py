"""The Kafka intake: submitted events go through the same Acceptor as HTTP requests."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from contracts.notifications import NotificationSubmitted
from services.ingest.acceptance import Acceptor, IdempotencyConflict
from services.ingest.domain import RequestProblem
from shared.kafka import Received, Rejection


class SubmittedHandler:
    """Accepts each submitted event; refusals become rejections with the reason."""

    def __init__(self, acceptor: Acceptor, known_app: Callable[[str], bool]) -> None:
        self.acceptor = acceptor
        self.known_app = known_app

    async def __call__(
        self, batch: Sequence[Received[NotificationSubmitted]]
    ) -> Sequence[Rejection]:
        rejections: list[Rejection] = []
        for item in batch:
            event = item.message
            if not self.known_app(event.app_id):
                rejections.append(Rejection(item, f"app_id: unknown app {event.app_id!r}"))
                continue
            try:
                await self.acceptor.accept(event.app_id, event, source="kafka")
            except RequestProblem as problem:
                rejections.append(Rejection(item, str(problem)))
            except IdempotencyConflict as conflict:
                rejections.append(Rejection(item, str(conflict)))
        return rejections
