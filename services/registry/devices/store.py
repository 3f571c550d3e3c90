"""Every SQL statement about devices (the ``devices`` table); rows come back as domain Devices."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import asyncpg

from contracts.push import ApnsEnvironment, Platform
from services.registry.devices import ownership
from services.registry.devices.domain import (
    Device,
    DeviceCapReached,
    Registration,
    adds_a_device,
)
from shared.db import transaction

_COLUMNS = (
    "device_id, app_id, user_id, platform, token, locale, time_zone, app_version, active,"
    " created_at, updated_at, last_registered_at, last_success_at, deactivated_at,"
    " deactivation_reason, apns_environment"
)

_REGISTER = f"""
WITH previous AS (
    SELECT user_id FROM devices WHERE app_id = $2 AND platform = $4 AND token = $5
)
INSERT INTO devices AS d (device_id, app_id, user_id, platform, token, locale, time_zone,
                          app_version, active, created_at, updated_at, last_registered_at,
                          secret_digest, apns_environment)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true, $9, $9, $9, $10, $11)
ON CONFLICT (app_id, platform, token) DO UPDATE SET
    user_id = EXCLUDED.user_id,
    locale = EXCLUDED.locale,
    time_zone = EXCLUDED.time_zone,
    app_version = EXCLUDED.app_version,
    apns_environment = EXCLUDED.apns_environment,
    active = true,
    deactivated_at = NULL,
    deactivation_reason = NULL,
    updated_at = EXCLUDED.updated_at,
    last_registered_at = EXCLUDED.last_registered_at,
    secret_digest = COALESCE(EXCLUDED.secret_digest, d.secret_digest)
RETURNING {_COLUMNS}, (SELECT user_id FROM previous) AS previous_user_id
"""  # noqa: S608 - only the constant column list is interpolated

_FIND_TOKEN = f"""
SELECT {_COLUMNS}, secret_digest FROM devices
WHERE app_id = $1 AND platform = $2 AND token = $3 FOR UPDATE
"""  # noqa: S608

_LOCK_USER = "SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0))"

_ACTIVE_COUNT = "SELECT count(*) FROM devices WHERE app_id = $1 AND user_id = $2 AND active"

_GET = f"SELECT {_COLUMNS} FROM devices WHERE device_id = $1 AND app_id = $2"  # noqa: S608

_OF_USER = f"""
SELECT {_COLUMNS} FROM devices
WHERE app_id = $1 AND user_id = $2 AND (active OR $3)
ORDER BY created_at, device_id
"""  # noqa: S608

_UNREGISTER = """
UPDATE devices SET active = false, deactivated_at = $3, deactivation_reason = $4, updated_at = $3
WHERE device_id = $1 AND app_id = $2 AND active
RETURNING true
"""

_EXISTS = "SELECT EXISTS (SELECT 1 FROM devices WHERE device_id = $1 AND app_id = $2)"

_ACTIVE_OF_USERS = f"""
SELECT {_COLUMNS} FROM devices
WHERE active AND (app_id, user_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
ORDER BY created_at, device_id
"""  # noqa: S608

_LOCK = f"""
SELECT {_COLUMNS} FROM devices WHERE device_id = ANY($1::uuid[]) ORDER BY device_id FOR UPDATE
"""  # noqa: S608

_READ = f"""
SELECT {_COLUMNS} FROM devices WHERE device_id = ANY($1::uuid[])
"""  # noqa: S608

_SAVE_STATE = """
UPDATE devices AS d SET
    active = c.active,
    deactivated_at = c.deactivated_at,
    deactivation_reason = c.deactivation_reason,
    last_success_at = c.last_success_at,
    updated_at = c.updated_at
FROM unnest($1::uuid[], $2::boolean[], $3::timestamptz[], $4::text[], $5::timestamptz[],
            $6::timestamptz[])
  AS c(device_id, active, deactivated_at, deactivation_reason, last_success_at, updated_at)
WHERE d.device_id = c.device_id
"""

# Token hygiene, a bounded batch per statement so a million stale rows never hold one long lock.
# The inner SELECT skips rows a registration holds; the outer condition is checked again on the
# locked row, so a device that registered meanwhile stays. Mirrors domain.is_stale/is_forgotten.
_DEACTIVATE_STALE = """
WITH gone AS (
    UPDATE devices SET active = false, deactivated_at = $2, deactivation_reason = $3,
                       updated_at = $2
    WHERE device_id IN (
        SELECT device_id FROM devices WHERE active AND last_registered_at < $1
        LIMIT $4 FOR UPDATE SKIP LOCKED
    ) AND active AND last_registered_at < $1
    RETURNING 1
) SELECT count(*) FROM gone
"""

_DELETE_FORGOTTEN = """
WITH gone AS (
    DELETE FROM devices
    WHERE device_id IN (
        SELECT device_id FROM devices WHERE NOT active AND deactivated_at < $1
        LIMIT $2 FOR UPDATE SKIP LOCKED
    ) AND NOT active AND deactivated_at < $1
    RETURNING 1
) SELECT count(*) FROM gone
"""


@dataclass(frozen=True)
class Registered:
    """A registration's effect: the device, whether it is new, and who owned its token before."""

    device: Device
    created: bool
    previous_user_id: str | None
    device_secret: str | None = None
    refused: bool = False


def _device(row: asyncpg.Record) -> Device:
    return Device(
        device_id=row["device_id"],
        app_id=row["app_id"],
        user_id=row["user_id"],
        platform=cast(Platform, row["platform"]),
        token=row["token"],
        locale=row["locale"],
        time_zone=row["time_zone"],
        app_version=row["app_version"],
        active=row["active"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_registered_at=row["last_registered_at"],
        last_success_at=row["last_success_at"],
        deactivated_at=row["deactivated_at"],
        deactivation_reason=row["deactivation_reason"],
        apns_environment=cast("ApnsEnvironment | None", row["apns_environment"]),
    )


class DeviceStore:
    """The registry's devices table."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def register(
        self,
        registration: Registration,
        now: datetime,
        *,
        by_server: bool = True,
        presented_secret: str | None = None,
        max_devices: int | None = None,
    ) -> Registered:
        """Insert the token's device, or give the existing one to this user and reactivate it,
        if the ownership rule allows (``Registered.refused`` otherwise) and the user stays within
        ``max_devices`` active devices (DeviceCapReached otherwise).

        The device keeps its id and creation time; everything the app states is replaced and the
        device is active again whatever ended it before. Registrations of one user are counted
        under a lock of that user, so two at once cannot both take the last place.
        """
        proposed_id = uuid.uuid4()
        async with transaction(self.pool) as conn:
            found = await conn.fetchrow(
                _FIND_TOKEN, registration.app_id, registration.platform, registration.token
            )
            existing = _device(found) if found is not None else None
            stored = found["secret_digest"] if found is not None else None
            outcome = ownership.claim(
                existing,
                registration.user_id,
                by_server=by_server,
                presented_secret=presented_secret,
                stored_digest=stored,
            )
            if outcome is ownership.Claim.REFUSED:
                if existing is None:
                    raise RuntimeError("ownership refused a claim on a device that does not exist")
                return Registered(existing, created=False, previous_user_id=None, refused=True)
            if max_devices is not None and adds_a_device(existing, registration.user_id):
                await conn.execute(_LOCK_USER, registration.app_id, registration.user_id)
                active = await conn.fetchval(
                    _ACTIVE_COUNT, registration.app_id, registration.user_id
                )
                if active >= max_devices:
                    raise DeviceCapReached(registration.user_id, max_devices)
            secret = (
                ownership.new_device_secret() if ownership.issues_secret(outcome, stored) else None
            )
            row = await conn.fetchrow(
                _REGISTER,
                proposed_id,
                registration.app_id,
                registration.user_id,
                registration.platform,
                registration.token,
                registration.locale,
                registration.time_zone,
                registration.app_version,
                now,
                ownership.secret_digest(secret) if secret else None,
                registration.apns_environment,
            )
        if row is None:
            raise RuntimeError("device upsert returned no row")
        return Registered(
            device=_device(row),
            created=row["device_id"] == proposed_id,
            previous_user_id=row["previous_user_id"],
            device_secret=secret,
        )

    async def get(self, app_id: str, device_id: uuid.UUID) -> Device | None:
        """The app's device with this id, active or not."""
        row = await self.pool.fetchrow(_GET, device_id, app_id)
        return _device(row) if row is not None else None

    async def of_user(self, app_id: str, user_id: str, *, include_inactive: bool) -> list[Device]:
        """A user's devices in one app, oldest first."""
        rows = await self.pool.fetch(_OF_USER, app_id, user_id, include_inactive)
        return [_device(row) for row in rows]

    async def unregister(
        self, app_id: str, device_id: uuid.UUID, reason: str, now: datetime
    ) -> bool:
        """Deactivate the app's device; False when the app has no device with this id.

        A device already inactive keeps the reason and time it stopped first.
        """
        async with self.pool.acquire() as conn:
            if await conn.fetchval(_UNREGISTER, device_id, app_id, now, reason):
                return True
            return bool(await conn.fetchval(_EXISTS, device_id, app_id))

    async def deactivate_stale(
        self, seen_before: datetime, limit: int, reason: str, now: datetime
    ) -> int:
        """Deactivate up to ``limit`` active devices last registered before ``seen_before``."""
        gone: int = await self.pool.fetchval(_DEACTIVATE_STALE, seen_before, now, reason, limit)
        return gone

    async def delete_inactive(self, deactivated_before: datetime, limit: int) -> int:
        """Delete up to ``limit`` devices that stopped receiving before ``deactivated_before``."""
        gone: int = await self.pool.fetchval(_DELETE_FORGOTTEN, deactivated_before, limit)
        return gone

    async def active_devices_of(self, users: Collection[tuple[str, str]]) -> list[Device]:
        """The active devices of every (app id, user id) pair, in one query."""
        if not users:
            return []
        app_ids, user_ids = zip(*users, strict=True)
        rows = await self.pool.fetch(_ACTIVE_OF_USERS, list(app_ids), list(user_ids))
        return [_device(row) for row in rows]

    async def change_devices(
        self,
        device_ids: Iterable[uuid.UUID],
        change: Callable[[dict[uuid.UUID, Device]], Sequence[Device]],
        *,
        before_commit: Callable[[list[tuple[Device, Device]]], Awaitable[None]] | None = None,
    ) -> list[tuple[Device, Device]]:
        """Let ``change`` decide the devices' new state and save it, under a lock.

        ``change`` first sees the devices as read without a lock; only those it would alter are
        then locked, decided again and saved in one transaction, so a batch that changes nothing
        (most results of steady delivery) writes nothing. The lock keeps a registration from
        slipping in between the decision and the write. Returns each device ``change`` altered,
        before and after; ``before_commit`` is given them once saved, before the commit (a
        failure there saves nothing).
        """
        seen = await self.pool.fetch(_READ, list(set(device_ids)))
        candidates = change({row["device_id"]: _device(row) for row in seen})
        if not candidates:
            return []
        async with transaction(self.pool) as conn:
            rows = await conn.fetch(_LOCK, sorted(d.device_id for d in candidates))
            before = {row["device_id"]: _device(row) for row in rows}
            changed = change(before)
            if changed:
                await conn.execute(
                    _SAVE_STATE,
                    [d.device_id for d in changed],
                    [d.active for d in changed],
                    [d.deactivated_at for d in changed],
                    [d.deactivation_reason for d in changed],
                    [d.last_success_at for d in changed],
                    [d.updated_at for d in changed],
                )
            altered = [(before[d.device_id], d) for d in changed]
            if altered and before_commit is not None:
                await before_commit(altered)
        return altered
