"""The ``herald`` command's side of the registry's HTTP API: where the registry is, the key to ask
it with, and one call that turns any answer but success into a message for a person."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import Field, SecretStr

from shared.settings import HeraldSettings

TIMEOUT_SECONDS = 30.0


class AdminClientSettings(HeraldSettings):
    """``HERALD_REGISTRY_URL`` and ``HERALD_ADMIN_KEY``; both required, checked when used, so
    the commands that need neither (topics, dlq, trace) run without them."""

    registry_url: str | None = Field(
        default=None, description="The registry's base URL (make run: http://127.0.0.1:8082)."
    )
    admin_key: SecretStr | None = Field(
        default=None, description="An operator key, or a server API key with the admin scope."
    )


class AdminClientError(Exception):
    """The registry could not do what was asked; the message says why, for a person."""


def admin_http(settings: AdminClientSettings) -> httpx.Client:
    """A client of the registry's admin API, or AdminClientError naming the missing setting."""
    if not settings.registry_url:
        raise AdminClientError(
            "HERALD_REGISTRY_URL is not set: the registry's address, such as "
            "http://127.0.0.1:8082 (make run prints the export line)"
        )
    if settings.admin_key is None or not settings.admin_key.get_secret_value():
        raise AdminClientError(
            "HERALD_ADMIN_KEY is not set: an operator key (make run prints one), or a server API "
            "key of the app with the admin scope"
        )
    return registry_http(settings.registry_url, settings.admin_key)


def registry_http(url: str, key: SecretStr) -> httpx.Client:
    """A client of the registry at ``url`` presenting ``key``."""
    return httpx.Client(
        base_url=url,
        headers={"Authorization": f"Bearer {key.get_secret_value()}"},
        timeout=TIMEOUT_SECONDS,
    )


def call(
    http: httpx.Client,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    key_name: str = "HERALD_ADMIN_KEY",
) -> dict[str, Any]:
    """The JSON the registry answers (empty for 204), or AdminClientError saying why not;
    ``key_name`` is the setting the key came from, for the message when it is refused."""
    try:
        response = http.request(method, path, json=body)
    except httpx.HTTPError as error:
        raise AdminClientError(f"cannot reach the registry at {http.base_url}: {error}") from None
    if response.is_success:
        answer: dict[str, Any] = response.json() if response.content else {}
        return answer
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text[:200]
    if response.status_code == 401:
        raise AdminClientError(f"the registry refused {key_name}: {message}")
    if response.status_code == 403:
        raise AdminClientError(f"{key_name} may not do this: {message}")
    raise AdminClientError(f"registry answered {response.status_code}: {message}")
