"""The benchmark's HTTP calls to Herald's APIs, which may answer 429 when a credential sends too
fast: the call waits as Retry-After says and tries again, a bounded number of times."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

MAX_RATE_LIMITED = 20


async def post(
    http: httpx.AsyncClient, url: str, headers: dict[str, str], body: dict[str, Any]
) -> httpx.Response:
    """POST ``body`` as JSON; the last answer when it stays rate limited."""
    response = await http.post(url, headers=headers, json=body)
    for _ in range(MAX_RATE_LIMITED):
        if response.status_code != 429:
            break
        await asyncio.sleep(float(response.headers.get("retry-after", "0.5")))
        response = await http.post(url, headers=headers, json=body)
    return response
