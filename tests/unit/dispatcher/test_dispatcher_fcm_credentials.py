"""Access-token caching: refreshed early, once at a time, forgotten when refused."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from services.dispatcher.platforms.fcm.auth import AccessTokens, ServiceAccountRefresher
from shared.platforms.base import CredentialsError
from tests.support.clock import FrozenClock

pytestmark = pytest.mark.unit

MARGIN = timedelta(minutes=5)


class CountingRefresh:
    """Hands out token-1, token-2... each valid for an hour, counting the calls."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self) -> tuple[str, timedelta]:
        with self._lock:
            self.calls += 1
            return f"token-{self.calls}", timedelta(hours=1)


async def test_token_is_cached_until_the_margin_before_expiry() -> None:
    clock = FrozenClock()
    refresh = CountingRefresh()
    tokens = AccessTokens(refresh, clock, MARGIN)

    assert await tokens.get() == "token-1"
    clock.advance(minutes=54)
    assert await tokens.get() == "token-1"
    clock.advance(minutes=1)
    assert await tokens.get() == "token-2"
    assert refresh.calls == 2


async def test_concurrent_callers_share_one_refresh() -> None:
    tokens = AccessTokens(CountingRefresh(), FrozenClock(), MARGIN)

    values = await asyncio.gather(*(tokens.get() for _ in range(20)))

    assert set(values) == {"token-1"}


async def test_a_refused_token_is_replaced_but_a_newer_one_is_kept() -> None:
    refresh = CountingRefresh()
    tokens = AccessTokens(refresh, FrozenClock(), MARGIN)
    first = await tokens.get()

    tokens.invalidate(first)
    second = await tokens.get()
    tokens.invalidate(first)

    assert (first, second, await tokens.get()) == ("token-1", "token-2", "token-2")


async def test_short_lived_tokens_are_still_reused_for_half_their_life() -> None:
    clock = FrozenClock()
    tokens = AccessTokens(lambda: ("short", timedelta(minutes=2)), clock, MARGIN)

    await tokens.get()
    clock.advance(seconds=59)

    assert await tokens.get() == "short"


def test_an_unreadable_key_file_is_refused_at_start(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{}")

    with pytest.raises(CredentialsError, match="not a usable service account file"):
        ServiceAccountRefresher(path, token_uri=None, ca_bundle=None, timeout=1)
