"""Reading the Retry-After header every provider and webhook endpoint may send."""

from __future__ import annotations

import email.utils
from datetime import datetime


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """A Retry-After header (delta seconds or an HTTP date) as seconds from ``now``; None when
    absent or unreadable (a date without a zone is unreadable: HTTP dates are GMT)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())
