"""A registry running in the test's event loop, with an HTTP client per app and topic I/O."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from contracts.notifications import NotificationCounted
from services.registry.app import build
from services.registry.settings import RegistrySettings
from shared.embedded.ports import free_port
from shared.tenancy.auth import issue_user_token, key_digest, new_api_key, new_signing_key
from tests.support.clock import FrozenClock
from tests.support.kafka import TopicIO, kafka_settings_for_test
from tests.support.services import running

APP = "testapp"
OTHER_APP = "otherapp"


@dataclass
class RunningRegistry:
    """What a registry test talks to: the API as two apps (and anonymously), topics, the clock."""

    api: httpx.AsyncClient
    other_app_api: httpx.AsyncClient
    anonymous: httpx.AsyncClient
    io: TopicIO
    clock: FrozenClock
    signing_key: str
    base_url: str

    def as_user(
        self, user_id: str, *, app_id: str = APP, key: str | None = None
    ) -> httpx.AsyncClient:
        """A client holding a user token for ``user_id`` (signed with ``key`` when given)."""
        token = issue_user_token(
            app_id,
            user_id,
            key or self.signing_key,
            now=datetime.now(UTC),
            lifetime=timedelta(minutes=5),
        )
        return httpx.AsyncClient(base_url=self.base_url, headers=_bearer(token))


#: The registry serves from the test's own event loop; with two test workers on a busy two-core
#: machine, a first request once waited longer than httpx's default 5 s to connect.
TIMEOUT = httpx.Timeout(30.0)


@asynccontextmanager
async def running_registry(
    bootstrap: str, dsn: str, **overrides: Any
) -> AsyncIterator[RunningRegistry]:
    """Start a registry on a free port under a fresh topic prefix; stop it afterwards."""
    kafka = kafka_settings_for_test(bootstrap)
    key, other_key = new_api_key(), new_api_key()
    signing_key = new_signing_key()
    settings = RegistrySettings(
        **kafka.model_dump(),
        database_dsn=SecretStr(dsn),
        http_port=free_port(),
        api_keys={APP: [key_digest(key)], OTHER_APP: [key_digest(other_key)]},
        app_signing_keys={APP: [SecretStr(signing_key)]},
        **overrides,
    )
    clock = FrozenClock()
    base_url = f"http://127.0.0.1:{settings.http_port}"
    async with (
        running(await build(settings, clock)),
        httpx.AsyncClient(base_url=base_url, headers=_bearer(key), timeout=TIMEOUT) as api,
        httpx.AsyncClient(
            base_url=base_url, headers=_bearer(other_key), timeout=TIMEOUT
        ) as other_app_api,
        httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT) as anonymous,
    ):
        yield RunningRegistry(
            api, other_app_api, anonymous, TopicIO(kafka), clock, signing_key, base_url
        )


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def fcm_token() -> str:
    """A unique token shaped like a Firebase registration token."""
    return f"{uuid.uuid4().hex}:APA91b{uuid.uuid4().hex}{uuid.uuid4().hex}"


def counted(now: datetime, user_id: str, **fields: Any) -> NotificationCounted:
    """A counted notification for ``user_id`` of the test app, badge 1."""
    values: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "app_id": APP,
        "occurred_at": now,
        "notification_id": uuid.uuid4(),
        "user_id": user_id,
        "content": {"title": "Hello", "body": "World"},
        "accepted_at": now,
        "due_at": now,
        "badge": 1,
        "badge_seq": 1,
    }
    values.update(fields)
    return NotificationCounted.model_validate(values)


async def eventually(check: Callable[[], Awaitable[bool]], *, timeout: float = 15.0) -> None:
    """Wait until ``check()`` holds (for effects of consumed messages); fail after ``timeout``."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                if await check():
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"condition not met after {timeout}s") from None
