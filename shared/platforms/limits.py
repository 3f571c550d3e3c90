"""The payload limits ingest checks before anything is queued, with the renderers that send.

Ingest does not know the user's devices, so a request must fit every platform. Each platform's
real renderer sizes the largest push the content can become — the badge and its sequence at the
largest values Herald stores, and on FCM the longest Android channel id settings allow; every
notification id has the same length — so what passes here is never too large for a dispatcher.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

from contracts.content import Content, DeliveryOptions
from contracts.push import PushRequest
from shared.platforms import PLATFORMS
from shared.platforms.base import Breach, PayloadError

#: The largest values badge-count attaches: the unread count is a PostgreSQL integer, its
#: sequence a bigint.
MAX_BADGE = 2**31 - 1
MAX_BADGE_SEQ = 2**63 - 1
#: Sizes do not depend on the time (TTLs travel in headers), so any fixed time will do.
_WHEN = datetime(2026, 1, 1, tzinfo=UTC)
_ID = uuid.UUID(int=0)


def largest_push(content: Content, options: DeliveryOptions) -> PushRequest:
    """The push request with ``content`` that renders largest on every platform."""
    return PushRequest.model_construct(
        event_id=_ID,
        app_id="",
        occurred_at=_WHEN,
        notification_id=_ID,
        user_id="",
        device_id=_ID,
        platform="apns",
        token="",
        content=content,
        options=options,
        badge=MAX_BADGE,
        badge_seq=MAX_BADGE_SEQ,
        accepted_at=_WHEN,
    )


def payload_breaches(content: Content, options: DeliveryOptions) -> Iterator[Breach]:
    """What some platform's dispatcher would refuse: its content rules, then its size limit.

    A request that breaks a rule is not sized (the renderer would refuse it before measuring).
    """
    rules = [breach for p in PLATFORMS.values() for breach in p.content_breaches(content)]
    if rules:
        yield from rules
        return
    request = largest_push(content, options)
    for platform in PLATFORMS.values():
        try:
            measure = platform.largest(request, _WHEN)
        except PayloadError as error:
            yield Breach("content", f"cannot be sent through {platform.label}: {error}")
            continue
        if not measure.fits:
            yield Breach(
                "content",
                f"renders to up to {measure.size} bytes for {platform.label} "
                f"({measure.counted}); the limit is {measure.limit} bytes",
            )
