"""How long a push stays worth delivering, counted from its acceptance. Pure: the caller passes
the time. Renderers turn it into each provider's expiry field; the dispatcher's retry rules use it
to stop waiting."""

from __future__ import annotations

from datetime import datetime, timedelta

from contracts.push import PushRequest


def deadline(request: PushRequest) -> datetime | None:
    """When the push stops being worth delivering, or None when it never does."""
    if request.options.ttl_seconds is None:
        return None
    return request.accepted_at + timedelta(seconds=request.options.ttl_seconds)


def remaining_ttl(request: PushRequest, now: datetime) -> int | None:
    """Whole seconds of the TTL left at ``now`` (what the provider may still keep it for)."""
    end = deadline(request)
    if end is None:
        return None
    return max(0, int((end - now).total_seconds()))
