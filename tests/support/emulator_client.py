"""A provider emulator served in the test's event loop the way ``make run`` serves it, and what
tests ask it over its plain-HTTP side: the messages it accepted, other listings, and control calls
(faults, unregistering a token)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from services.emulators.serving import LOOPBACK, Listen, serve_until


@asynccontextmanager
async def serving(app: FastAPI, listen: Listen) -> AsyncIterator[str]:
    """Serve ``app`` over TLS with HTTP/2 on ``listen.tls_port`` and plain HTTP on
    ``listen.http_port``; yield the plain URL once the emulator answers its health check."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve_until(app, listen, stop))
    url = f"http://{LOOPBACK}:{listen.http_port}"
    try:
        async with asyncio.timeout(10), httpx.AsyncClient(trust_env=False) as client:
            while not await _healthy(client, url):
                if task.done():
                    task.result()
                    raise RuntimeError("the emulator stopped during start-up")
                await asyncio.sleep(0.02)
        yield url
    finally:
        stop.set()
        await task


async def _healthy(client: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await client.get(f"{url}/healthz")).status_code == 200
    except httpx.TransportError:
        return False


class EmulatorInspection:
    """Mixed into each running-emulator handle; ``inspection_url`` says where to ask."""

    @property
    def inspection_url(self) -> str:
        raise NotImplementedError

    def token_filter(self, token: str) -> dict[str, str]:
        """Query parameters that narrow a listing to one device's token."""
        return {"token": token}

    async def recorded(self, token: str | None = None) -> list[dict[str, Any]]:
        return await self.listing("/emulator/messages", "messages", token)

    async def control(self, path: str, body: dict[str, Any] | None = None) -> None:
        async with httpx.AsyncClient(base_url=self.inspection_url, trust_env=False) as client:
            reply = await client.post(path, json=body)
            reply.raise_for_status()

    async def listing(self, path: str, field: str, token: str | None) -> list[dict[str, Any]]:
        """The items under ``field`` of a GET of ``path``, narrowed to ``token`` if given."""
        params = self.token_filter(token) if token is not None else None
        async with httpx.AsyncClient(base_url=self.inspection_url, trust_env=False) as client:
            reply = await client.get(path, params=params)
            reply.raise_for_status()
            found: list[dict[str, Any]] = reply.json()[field]
            return found
