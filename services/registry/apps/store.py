"""Every SQL statement about apps, keys and credentials; all run on the caller's transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from contracts.apps import (
    ApiKeyEntry,
    AppChanged,
    IntakeKeyEntry,
    ProviderCredential,
    Scope,
    Sealed,
    SigningKeyEntry,
)
from services.registry.apps.category_store import categories_of
from services.registry.apps.webhook_store import webhook_entries
from shared.db import Connection

#: The registry's schema and its migrations (the composition root and the local stack's in-process
#: provisioning open it).
SCHEMA = "registry"
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class AppNotFound(LookupError):
    """No app with this id."""


@dataclass(frozen=True)
class KeyInfo:
    """A key as an operator sees it: never the key itself."""

    key_id: uuid.UUID
    scopes: list[str]
    label: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class AppInfo:
    """An app as an operator lists it."""

    app_id: str
    name: str
    disabled: bool
    created_at: datetime


@dataclass(frozen=True)
class CredentialInfo:
    """One platform's stored credentials as an operator sees them: their public settings only,
    and the sealed secret, which never leaves the registry opened."""

    platform: str
    kind: str
    settings: dict[str, str]
    sealed: bytes
    set_at: datetime


class AppStore:
    """The registry's app tables."""

    async def create_app(self, conn: Connection, app_id: str, name: str, now: datetime) -> bool:
        """False when the app exists already."""
        created = await conn.fetchval(
            "INSERT INTO apps (app_id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)"
            " ON CONFLICT (app_id) DO NOTHING RETURNING true",
            app_id,
            name,
            now,
        )
        return bool(created)

    async def lock_app(self, conn: Connection, app_id: str) -> None:
        """Lock the app's row for the rest of the transaction; AppNotFound when there is none."""
        found = await conn.fetchval("SELECT true FROM apps WHERE app_id = $1 FOR UPDATE", app_id)
        if not found:
            raise AppNotFound(app_id)

    async def apps(self, conn: Connection, app_id: str | None = None) -> list[AppInfo]:
        """Every app, or just ``app_id`` (none when it does not exist)."""
        rows = await conn.fetch(
            "SELECT app_id, name, disabled, created_at FROM apps"
            " WHERE $1::text IS NULL OR app_id = $1 ORDER BY app_id",
            app_id,
        )
        return [AppInfo(r["app_id"], r["name"], r["disabled"], r["created_at"]) for r in rows]

    async def app_ids(self, conn: Connection) -> list[str]:
        rows = await conn.fetch("SELECT app_id FROM apps ORDER BY app_id")
        return [row["app_id"] for row in rows]

    async def set_disabled(
        self, conn: Connection, app_id: str, disabled: bool, now: datetime
    ) -> None:
        await conn.execute(
            "UPDATE apps SET disabled = $2, updated_at = $3 WHERE app_id = $1",
            app_id,
            disabled,
            now,
        )

    async def add_key(
        self,
        conn: Connection,
        app_id: str,
        key_id: uuid.UUID,
        digest: str,
        scopes: Sequence[Scope],
        label: str,
        now: datetime,
    ) -> None:
        await conn.execute(
            "INSERT INTO api_keys (key_id, app_id, digest, scopes, label, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            key_id,
            app_id,
            digest,
            list(scopes),
            label,
            now,
        )

    async def revoke_key(
        self, conn: Connection, app_id: str, key_id: uuid.UUID, now: datetime
    ) -> bool:
        """False when the app has no such key (a key revoked before stays revoked)."""
        found = await conn.fetchval(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3)"
            " WHERE app_id = $1 AND key_id = $2 RETURNING true",
            app_id,
            key_id,
            now,
        )
        return bool(found)

    async def keys(self, conn: Connection, app_id: str) -> list[KeyInfo]:
        rows = await conn.fetch(
            "SELECT key_id, scopes, label, created_at, revoked_at FROM api_keys"
            " WHERE app_id = $1 ORDER BY created_at, key_id",
            app_id,
        )
        return [
            KeyInfo(r["key_id"], list(r["scopes"]), r["label"], r["created_at"], r["revoked_at"])
            for r in rows
        ]

    async def add_signing_key(
        self, conn: Connection, app_id: str, key_id: uuid.UUID, sealed: bytes, now: datetime
    ) -> None:
        await conn.execute(
            "INSERT INTO signing_keys (key_id, app_id, sealed, created_at) VALUES ($1, $2, $3, $4)",
            key_id,
            app_id,
            sealed,
            now,
        )

    async def revoke_signing_key(
        self, conn: Connection, app_id: str, key_id: uuid.UUID, now: datetime
    ) -> bool:
        found = await conn.fetchval(
            "UPDATE signing_keys SET revoked_at = COALESCE(revoked_at, $3)"
            " WHERE app_id = $1 AND key_id = $2 RETURNING true",
            app_id,
            key_id,
            now,
        )
        return bool(found)

    async def add_intake_key(
        self, conn: Connection, app_id: str, key_id: uuid.UUID, sealed: bytes, now: datetime
    ) -> None:
        await conn.execute(
            "INSERT INTO intake_keys (key_id, app_id, sealed, created_at) VALUES ($1, $2, $3, $4)",
            key_id,
            app_id,
            sealed,
            now,
        )

    async def revoke_intake_key(
        self, conn: Connection, app_id: str, key_id: uuid.UUID, now: datetime
    ) -> bool:
        found = await conn.fetchval(
            "UPDATE intake_keys SET revoked_at = COALESCE(revoked_at, $3)"
            " WHERE app_id = $1 AND key_id = $2 RETURNING true",
            app_id,
            key_id,
            now,
        )
        return bool(found)

    async def set_credential(
        self,
        conn: Connection,
        app_id: str,
        platform: str,
        kind: str,
        settings: dict[str, str],
        sealed: bytes,
        now: datetime,
    ) -> None:
        await conn.execute(
            "INSERT INTO provider_credentials"
            " (app_id, platform, kind, settings, sealed, updated_at)"
            " VALUES ($1, $2, $3, $4::jsonb, $5, $6) ON CONFLICT (app_id, platform) DO UPDATE"
            " SET kind = EXCLUDED.kind, settings = EXCLUDED.settings, sealed = EXCLUDED.sealed,"
            " updated_at = EXCLUDED.updated_at",
            app_id,
            platform,
            kind,
            json.dumps(settings),
            sealed,
            now,
        )

    async def credentials(self, conn: Connection, app_id: str) -> list[CredentialInfo]:
        rows = await conn.fetch(
            "SELECT platform, kind, settings, sealed, updated_at FROM provider_credentials"
            " WHERE app_id = $1 ORDER BY platform",
            app_id,
        )
        return [
            CredentialInfo(
                r["platform"],
                r["kind"],
                json.loads(r["settings"]),
                bytes(r["sealed"]),
                r["updated_at"],
            )
            for r in rows
        ]

    async def bump_revision(self, conn: Connection, app_id: str, now: datetime) -> None:
        await conn.execute(
            "UPDATE apps SET revision = revision + 1, updated_at = $2 WHERE app_id = $1",
            app_id,
            now,
        )

    async def snapshot(self, conn: Connection, app_id: str, now: datetime) -> AppChanged:
        """The app's whole state as the event every service keeps."""
        app = await conn.fetchrow(
            "SELECT name, disabled, revision FROM apps WHERE app_id = $1", app_id
        )
        if app is None:
            raise AppNotFound(app_id)
        keys = await conn.fetch(
            "SELECT key_id, digest, scopes, label, revoked_at FROM api_keys WHERE app_id = $1"
            " ORDER BY created_at, key_id",
            app_id,
        )
        signing = await conn.fetch(
            "SELECT key_id, sealed, revoked_at FROM signing_keys WHERE app_id = $1"
            " ORDER BY created_at, key_id",
            app_id,
        )
        intake = await conn.fetch(
            "SELECT key_id, sealed, revoked_at FROM intake_keys WHERE app_id = $1"
            " ORDER BY created_at, key_id",
            app_id,
        )
        credentials = await conn.fetch(
            "SELECT platform, kind, settings, sealed FROM provider_credentials"
            " WHERE app_id = $1 ORDER BY platform",
            app_id,
        )
        categories = await categories_of(conn, app_id)
        webhooks = await webhook_entries(conn, app_id)
        return AppChanged(
            event_id=uuid.uuid4(),
            app_id=app_id,
            occurred_at=now,
            revision=max(1, app["revision"]),
            name=app["name"],
            disabled=app["disabled"],
            api_keys=[
                ApiKeyEntry(
                    key_id=k["key_id"],
                    digest=k["digest"],
                    scopes=list(k["scopes"]),
                    label=k["label"],
                    revoked=k["revoked_at"] is not None,
                )
                for k in keys
            ],
            signing_keys=[
                SigningKeyEntry(
                    key_id=s["key_id"],
                    secret=Sealed(ciphertext=bytes(s["sealed"])),
                    revoked=s["revoked_at"] is not None,
                )
                for s in signing
            ],
            credentials=[
                ProviderCredential(
                    platform=c["platform"],
                    kind=c["kind"],
                    settings=json.loads(c["settings"]),
                    secret=Sealed(ciphertext=bytes(c["sealed"])),
                )
                for c in credentials
            ],
            intake_keys=[
                IntakeKeyEntry(
                    key_id=i["key_id"],
                    secret=Sealed(ciphertext=bytes(i["sealed"])),
                    revoked=i["revoked_at"] is not None,
                )
                for i in intake
            ],
            categories=categories,
            webhooks=webhooks,
        )
