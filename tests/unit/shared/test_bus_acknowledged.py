"""Waiting for a step's sends: every acknowledgement awaited, the first failure raised, and no
failure left unretrieved for asyncio to report."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from shared.kafka.bus import acknowledged


async def test_returns_once_every_send_is_acknowledged() -> None:
    loop = asyncio.get_running_loop()
    futures = [loop.create_future() for _ in range(5)]
    waiting = asyncio.ensure_future(acknowledged(futures))
    for future in futures[:4]:
        future.set_result(None)
    await asyncio.sleep(0)
    assert not waiting.done()
    futures[4].set_result(None)
    await waiting


async def test_the_first_failure_is_raised_and_later_ones_are_retrieved() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: reported.append(context))
    futures = [loop.create_future() for _ in range(3)]
    futures[0].set_result(None)
    futures[1].set_exception(ConnectionError("first"))
    with pytest.raises(ConnectionError, match="first"):
        await acknowledged(futures)
    futures[2].set_exception(ConnectionError("later"))
    await asyncio.sleep(0)
    del futures
    gc.collect()
    loop.set_exception_handler(None)
    assert reported == []
