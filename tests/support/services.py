"""Running a service's composition in the test's own event loop, and stopping it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from shared.runtime import ServiceParts, serve


@asynccontextmanager
async def running(parts: ServiceParts, *, timeout: float = 15.0) -> AsyncIterator[ServiceParts]:
    """Serve ``parts`` until the block ends; fail if it does not become ready in time."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve(parts, stop))
    try:
        async with asyncio.timeout(timeout):
            while not parts.http_app.state.ready:
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
        yield parts
    finally:
        stop.set()
        await task
