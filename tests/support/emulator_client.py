"""What tests ask a provider emulator over its plain-HTTP side: the messages it accepted, other
listings, and control calls (faults, unregistering a token)."""

from __future__ import annotations

from typing import Any

import httpx


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
