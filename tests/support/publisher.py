"""A ``Publisher`` that keeps what a handler sends, so a test reads its output without a broker."""

from __future__ import annotations

from collections.abc import Iterable

from contracts.base import Model
from contracts.topics import Topic


class RecordingPublisher:
    """Every message published, in order, with the topic it went to."""

    def __init__(self) -> None:
        self.published: list[tuple[Topic, Model]] = []

    async def publish_all(self, items: Iterable[tuple[Topic, Model]]) -> None:
        self.published.extend(items)

    @property
    def messages(self) -> list[Model]:
        return [message for _, message in self.published]

    def on(self, topic: Topic) -> list[Model]:
        """The messages sent to ``topic``, in order."""
        return [message for sent_to, message in self.published if sent_to.name == topic.name]
