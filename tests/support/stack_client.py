"""Talking to a running stack the way its users do: HTTP APIs, the submitted topic (records signed
with the demo app's intake key), the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from services.devstack.stack import LocalStack
from shared.tenancy.auth import issue_user_token
from tests.support.factories import unique
from tests.support.intake import intake_signer
from tests.support.kafka import TopicIO


class StackCaller:
    """Calls into a running stack with the demo app's key: the base of each test's client."""

    def __init__(self, stack: LocalStack, http: httpx.AsyncClient) -> None:
        self.stack = stack
        self.http = http

    def url(self, service: str, path: str) -> str:
        return f"{self.stack.services[service].url}{path}"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.stack.api_key}"}


class StackClient(StackCaller):
    """An app's backend (API key), its devices, and a person watching the FCM emulator."""

    def __init__(self, stack: LocalStack, http: httpx.AsyncClient) -> None:
        super().__init__(stack, http)
        self.topics = TopicIO(
            stack.kafka_settings(), intake_signer(stack.intake_key_id, stack.intake_key_secret)
        )

    async def register_fcm_device(self, user_id: str) -> str:
        token, _ = await self.register_fcm(user_id)
        return token

    async def register_fcm(self, user_id: str, locale: str | None = None) -> tuple[str, str]:
        """Register a new FCM device for ``user_id`` (in ``locale``); its token and device id."""
        token = f"{unique('fcm')}:{'A' * 40}"
        device: dict[str, Any] = {"user_id": user_id, "platform": "fcm", "token": token}
        if locale is not None:
            device["locale"] = locale
        response = await self.http.post(
            self.url("registry", "/v1/devices"), headers=self.auth, json=device
        )
        assert response.status_code == 201, response.text
        return token, str(response.json()["device_id"])

    def user_auth(self, user_id: str) -> dict[str, str]:
        """A user token as the app's server would mint it for a signed-in user."""
        token = issue_user_token(
            self.stack.options.app_id,
            user_id,
            self.stack.signing_key,
            now=datetime.now(UTC),
            lifetime=timedelta(minutes=10),
        )
        return {"Authorization": f"Bearer {token}"}

    async def report_reads(
        self, user_id: str, report: dict[str, Any], headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return await self.http.post(
            self.url("registry", f"/v1/users/{quote(user_id, safe='')}/reads"),
            headers=headers or self.user_auth(user_id),
            json=report,
        )

    async def badge(self, user_id: str) -> dict[str, Any]:
        response = await self.http.get(
            self.url("badge-count", f"/v1/users/{quote(user_id, safe='')}/badge"),
            headers=self.user_auth(user_id),
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    async def send(self, body: dict[str, Any]) -> httpx.Response:
        return await self.http.post(
            self.url("ingest", "/v1/notifications"), headers=self.auth, json=body
        )

    async def pushes_to(self, token: str) -> list[dict[str, Any]]:
        response = await self.http.get(
            self.url("fcm-emulator", "/emulator/messages"), params={"token": token}
        )
        response.raise_for_status()
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    async def wait_for_pushes(
        self,
        token: str,
        until: Callable[[list[dict[str, Any]]], bool],
        timeout: float = 30.0,
    ) -> list[dict[str, Any]]:
        async with asyncio.timeout(timeout):
            while True:
                pushes = await self.pushes_to(token)
                if until(pushes):
                    return pushes
                await asyncio.sleep(0.1)
