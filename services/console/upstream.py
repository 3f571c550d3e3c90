"""The console's only way to Herald: the HTTP APIs of ingest, the registry, the tracker and
badge-count, called with the signed-in app key. Every answer is checked here; an error answer
becomes an ``UpstreamError`` carrying Herald's error message for the page to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from services.console.settings import ConsoleSettings


class UpstreamError(Exception):
    """An API answered with an error (or not at all); ``message`` is for the person."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def _error(response: httpx.Response) -> UpstreamError:
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    if not isinstance(error, dict):
        error = {}
    return UpstreamError(
        response.status_code,
        str(error.get("code", "error")),
        str(error.get("message", response.reason_phrase or "request failed")),
        error.get("field"),
    )


def segment(value: str) -> str:
    """``value`` as one path segment."""
    return quote(value, safe="")


@dataclass(frozen=True)
class Upstream:
    """The APIs, each a base URL on one shared connection pool."""

    client: httpx.AsyncClient
    settings: ConsoleSettings

    async def call(self, service: str, method: str, path: str, key: str, body: Any = None) -> Any:
        """The JSON answer of ``method path`` on ``service``; None for 204."""
        base = {
            "ingest": self.settings.console_ingest_url,
            "registry": self.settings.console_registry_url,
            "tracker": self.settings.console_tracker_url,
            "badge": self.settings.console_badge_url,
        }[service]
        try:
            response = await self.client.request(
                method,
                base.rstrip("/") + path,
                json=body,
                headers={"Authorization": f"Bearer {key}"},
            )
        except httpx.HTTPError as error:
            # The error's name only: its text can quote the request's headers, key included.
            raise UpstreamError(
                503, "unavailable", f"{service} did not answer ({type(error).__name__})"
            ) from None
        if response.status_code >= 400:
            raise _error(response)
        return None if response.status_code == 204 else response.json()

    async def get(self, service: str, path: str, key: str) -> Any:
        return await self.call(service, "GET", path, key)
