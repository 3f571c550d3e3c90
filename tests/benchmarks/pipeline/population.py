"""The benchmark's users and devices: a load population registered through the registry's API, and
a broadcast audience bulk-loaded with one COPY into the registry's table.

Device d of user u is on platform (u + d) mod 3, so three devices per user means one of each.
Web Push devices are members of an emulator subscription family (one key pair, many endpoints).
The bulk path is the benchmark's own seeding step, as a data import would be: registering a
million tokens one HTTP call at a time would measure the API, not the broadcast.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from contracts.push import PLATFORMS, Platform
from shared.platforms.webpush.subscription import WebPushSubscription
from tests.benchmarks.pipeline.client import post

REGISTER_IN_FLIGHT = 16
COPY_CHUNK = 50_000
COLUMNS = (
    "device_id",
    "app_id",
    "user_id",
    "platform",
    "token",
    "active",
    "created_at",
    "updated_at",
    "last_registered_at",
)


@dataclass(frozen=True)
class Family:
    """An emulator subscription family: endpoint ``{endpoint_prefix}{n}``, shared keys."""

    endpoint_prefix: str
    p256dh: str
    auth: str

    def token(self, n: int) -> str:
        return (
            f'{{"endpoint":"{self.endpoint_prefix}{n}",'
            f'"keys":{{"p256dh":"{self.p256dh}","auth":"{self.auth}"}}}}'
        )


@dataclass
class Population:
    """Users and how many devices each has on each platform."""

    users: list[str]
    devices: dict[str, Counter[Platform]]

    @property
    def device_count(self) -> int:
        return sum(sum(c.values()) for c in self.devices.values())

    def expected(self, user_ids: Sequence[str]) -> Counter[Platform]:
        total: Counter[Platform] = Counter()
        for user in user_ids:
            total.update(self.devices[user])
        return total


def platform_of(user_index: int, device_index: int) -> Platform:
    return PLATFORMS[(user_index + device_index) % len(PLATFORMS)]


def token_for(platform: Platform, tag: int, n: int, family: Family) -> str:
    """A token unique to (tag, n) in the platform's format; ``tag`` separates populations."""
    if platform == "apns":
        return f"{tag:08x}{n:056x}"
    if platform == "fcm":
        return f"bench-{tag}-{n}:{'A' * 40}"
    return family.token(n)


async def new_family(http: httpx.AsyncClient, webpush_url: str, count: int) -> Family:
    """A subscription family of ``count`` endpoints from the Web Push emulator."""
    response = await http.post(
        f"{webpush_url}/emulator/subscription-families", json={"count": max(1, count)}
    )
    response.raise_for_status()
    body = response.json()
    family = Family(body["endpoint_prefix"], body["keys"]["p256dh"], body["keys"]["auth"])
    canonical = WebPushSubscription.model_validate_json(family.token(0)).token()
    if canonical != family.token(0):
        raise RuntimeError(f"family tokens are not canonical: {canonical}")
    return family


def _plan(prefix: str, users: int, devices_per_user: int) -> Iterator[tuple[str, Platform, int]]:
    """(user id, platform, device number) for every device of the population."""
    n = 0
    for u in range(users):
        for d in range(devices_per_user):
            yield f"{prefix}{u}", platform_of(u, d), n
            n += 1


def _population(prefix: str, users: int, devices_per_user: int) -> Population:
    devices: dict[str, Counter[Platform]] = {}
    for user, platform, _ in _plan(prefix, users, devices_per_user):
        devices.setdefault(user, Counter())[platform] += 1
    return Population(list(devices), devices)


async def register_via_api(
    http: httpx.AsyncClient,
    registry_url: str,
    api_key: str,
    family: Family,
    *,
    users: int,
    devices_per_user: int,
    tag: int,
) -> Population:
    """Register every device with ``POST /v1/devices``, a bounded number at a time."""
    plan = iter(list(_plan(f"u{tag}-", users, devices_per_user)))
    headers = {"Authorization": f"Bearer {api_key}"}

    async def worker() -> None:
        for user, platform, n in plan:
            body = {
                "user_id": user,
                "platform": platform,
                "token": token_for(platform, tag, n, family),
            }
            response = await post(http, f"{registry_url}/v1/devices", headers, body)
            if response.status_code not in (200, 201):
                raise RuntimeError(f"registration refused: {response.status_code} {response.text}")

    async with asyncio.TaskGroup() as group:
        for _ in range(REGISTER_IN_FLIGHT):
            group.create_task(worker())
    return _population(f"u{tag}-", users, devices_per_user)


async def bulk_load(
    dsn: str, app_id: str, family: Family, *, users: int, devices_per_user: int, tag: int
) -> Population:
    """COPY the devices straight into ``registry.devices`` (the benchmark's seeding path)."""
    now = datetime.now(UTC)
    connection = await asyncpg.connect(dsn)
    try:
        chunk: list[tuple[Any, ...]] = []
        for user, platform, n in _plan(f"b{tag}-", users, devices_per_user):
            token = token_for(platform, tag, n, family)
            chunk.append((uuid.uuid4(), app_id, user, platform, token, True, now, now, now))
            if len(chunk) >= COPY_CHUNK:
                await _copy(connection, chunk)
                chunk = []
        if chunk:
            await _copy(connection, chunk)
        await connection.execute("ANALYZE registry.devices")
    finally:
        await connection.close()
    return _population(f"b{tag}-", users, devices_per_user)


async def _copy(connection: asyncpg.Connection, records: list[tuple[Any, ...]]) -> None:
    await connection.copy_records_to_table(
        "devices", schema_name="registry", columns=COLUMNS, records=records
    )
