"""Talking to a running stack the way its users do: HTTP APIs, the submitted topic, the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from services.devstack.stack import LocalStack
from shared.settings import KafkaSettings
from tests.support.factories import unique
from tests.support.kafka import TopicIO


class StackClient:
    """An app's backend (API key), its devices, and a person watching the FCM emulator."""

    def __init__(self, stack: LocalStack, http: httpx.AsyncClient) -> None:
        self.stack = stack
        self.http = http
        assert stack.broker is not None
        self.topics = TopicIO(KafkaSettings(kafka_bootstrap=stack.broker.bootstrap))

    def url(self, service: str, path: str) -> str:
        return f"{self.stack.services[service].url}{path}"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.stack.api_key}"}

    async def register_fcm_device(self, user_id: str) -> str:
        token = f"{unique('fcm')}:{'A' * 40}"
        response = await self.http.post(
            self.url("registry", "/v1/devices"),
            headers=self.auth,
            json={"user_id": user_id, "platform": "fcm", "token": token},
        )
        assert response.status_code == 201, response.text
        return token

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
