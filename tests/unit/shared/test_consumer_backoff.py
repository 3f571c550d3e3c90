"""Backoff grows exponentially, stays jittered and capped."""

from __future__ import annotations

import pytest

from shared.kafka.consumer import MAX_BACKOFF_SECONDS, backoff_delay

pytestmark = pytest.mark.unit


def test_backoff_grows_then_caps() -> None:
    for attempt in range(1, 30):
        ceiling = min(MAX_BACKOFF_SECONDS, 0.2 * 2**attempt)
        delay = backoff_delay(attempt)
        assert ceiling / 2 <= delay <= ceiling
