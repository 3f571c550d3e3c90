"""Publishing what must not be lost once its side effects have happened."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from contracts.base import Model
from contracts.topics import Topic
from shared.errors import RETRYABLE
from shared.kafka.bus import Publisher

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

MAX_PUBLISH_BACKOFF_SECONDS = 30.0


async def publish_until_done(
    bus: Publisher, output: list[tuple[Topic, Model]], sleep: Sleep, *, what: str
) -> None:
    """Publish ``output``, retrying with backoff while the broker is unavailable: the requests
    it describes (``what``) were made already, and failing the batch would make them again."""
    failures = 0
    while True:
        try:
            await bus.publish_all(output)
        except RETRYABLE as error:
            failures += 1
            delay = min(MAX_PUBLISH_BACKOFF_SECONDS, 0.1 * 2.0**failures)
            log.warning(
                "publishing the outcome of %d %s failed (%s); again in %.1fs",
                len(output),
                what,
                error,
                delay,
            )
            await sleep(delay)
        else:
            return
