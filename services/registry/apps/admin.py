"""Managing apps: every change is stored and announced in one transaction.

Each operation locks the app, changes its rows, bumps its revision and publishes the whole new state
on ``apps.changed``, signed, committing only once the broker has it. Every service applies that
state as soon as it arrives, so a revoked key stops working within moments everywhere.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import asyncpg

from contracts import topics
from contracts.apps import AppChanged
from contracts.categories import Category
from services.registry.apps import category_store, domain, webhook_store
from services.registry.apps.domain import AdminConflict, AdminNotFound
from services.registry.apps.store import AppInfo, AppNotFound, AppStore, CredentialInfo, KeyInfo
from services.registry.apps.webhook_store import WebhookInfo
from shared.clock import Clock
from shared.db import Connection, transaction
from shared.kafka import Bus
from shared.platforms.base import CredentialsError, StoredCredential
from shared.platforms.endpoints import IpNetwork
from shared.platforms.webpush.credentials import application_server_key, vapid_key
from shared.secrets import SecretBox, SecretsUnavailable
from shared.tenancy.announcements import AppsSignature
from shared.tenancy.auth import key_digest, new_api_key, new_signing_key
from shared.tenancy.directory import (
    credential_purpose,
    intake_key_purpose,
    signing_key_purpose,
    webhook_purpose,
)

T = TypeVar("T")

#: Webhook secrets start with this, so one found in a config file says what it is.
WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


class AppAdmin:
    """Create apps, issue and revoke keys, set credentials, register webhooks.

    ``webhook_networks``: networks a webhook URL may name though they are not public (tests).
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        bus: Bus,
        box: SecretBox,
        clock: Clock,
        *,
        webhook_networks: Sequence[IpNetwork] = (),
    ) -> None:
        self.webhook_networks = tuple(webhook_networks)
        self.pool = pool
        self.bus = bus
        self.box = box
        self.signature = AppsSignature(box)
        self.clock = clock
        self.store = AppStore()

    async def create_app(self, app_id: str, name: str = "") -> None:
        domain.check_app_id(app_id)
        async with transaction(self.pool) as conn:
            if not await self.store.create_app(conn, app_id, name, self.clock.now()):
                raise AdminConflict(f"app {app_id!r} exists already")
            await self._announce(conn, app_id)

    async def apps(self, app_id: str | None = None) -> list[AppInfo]:
        """Every app, or only ``app_id`` (an empty list when there is no such app)."""
        async with self.pool.acquire() as conn:
            return await self.store.apps(conn, app_id)

    async def set_disabled(self, app_id: str, disabled: bool) -> None:
        """A disabled app's keys and tokens stop working; its data stays."""

        async def change(conn: Connection) -> None:
            await self.store.set_disabled(conn, app_id, disabled, self.clock.now())

        await self._change(app_id, change)

    async def create_key(
        self, app_id: str, scopes: Sequence[str], label: str = ""
    ) -> tuple[KeyInfo, str]:
        """A new server key; the key itself is returned this once and stored only as a digest."""
        chosen = domain.chosen_scopes(scopes)
        info = KeyInfo(uuid.uuid4(), list(chosen), label, self.clock.now(), None)
        key = new_api_key()

        async def change(conn: Connection) -> None:
            await self.store.add_key(
                conn, app_id, info.key_id, key_digest(key), chosen, label, info.created_at
            )

        await self._change(app_id, change)
        return info, key

    async def revoke_key(self, app_id: str, key_id: uuid.UUID) -> None:
        async def change(conn: Connection) -> None:
            if not await self.store.revoke_key(conn, app_id, key_id, self.clock.now()):
                raise AdminNotFound(f"app {app_id!r} has no key {key_id}")

        await self._change(app_id, change)

    async def keys(self, app_id: str) -> list[KeyInfo]:
        """The app's keys as an operator sees them (never the keys themselves)."""
        return await self._read(app_id, lambda conn: self.store.keys(conn, app_id))

    async def create_signing_key(self, app_id: str) -> tuple[uuid.UUID, str]:
        """A new key for signing user tokens, returned this once."""
        key_id, secret = uuid.uuid4(), new_signing_key()
        sealed = self.box.seal(secret.encode(), signing_key_purpose(app_id, key_id))

        async def change(conn: Connection) -> None:
            await self.store.add_signing_key(conn, app_id, key_id, sealed, self.clock.now())

        await self._change(app_id, change)
        return key_id, secret

    async def revoke_signing_key(self, app_id: str, key_id: uuid.UUID) -> None:
        async def change(conn: Connection) -> None:
            if not await self.store.revoke_signing_key(conn, app_id, key_id, self.clock.now()):
                raise AdminNotFound(f"app {app_id!r} has no signing key {key_id}")

        await self._change(app_id, change)

    async def create_intake_key(self, app_id: str) -> tuple[uuid.UUID, str]:
        """A new key for signing the app's Kafka records, returned this once."""
        key_id, secret = uuid.uuid4(), new_signing_key()
        sealed = self.box.seal(secret.encode(), intake_key_purpose(app_id, key_id))

        async def change(conn: Connection) -> None:
            await self.store.add_intake_key(conn, app_id, key_id, sealed, self.clock.now())

        await self._change(app_id, change)
        return key_id, secret

    async def revoke_intake_key(self, app_id: str, key_id: uuid.UUID) -> None:
        async def change(conn: Connection) -> None:
            if not await self.store.revoke_intake_key(conn, app_id, key_id, self.clock.now()):
                raise AdminNotFound(f"app {app_id!r} has no intake key {key_id}")

        await self._change(app_id, change)

    async def set_credential(self, app_id: str, credential: StoredCredential) -> None:
        """Store (replacing) the app's credentials for one platform, sealed."""
        sealed = self.box.seal(credential.secret, credential_purpose(app_id, credential.platform))

        async def change(conn: Connection) -> None:
            await self.store.set_credential(
                conn,
                app_id,
                credential.platform,
                credential.kind,
                credential.settings,
                sealed,
                self.clock.now(),
            )

        await self._change(app_id, change)

    async def credentials(self, app_id: str) -> list[tuple[CredentialInfo, dict[str, str]]]:
        """Each platform's credentials with what may be shown of them: their public settings and,
        for Web Push, the VAPID public key. Never a secret."""
        stored = await self._read(app_id, lambda conn: self.store.credentials(conn, app_id))
        return [(info, self._summary(app_id, info)) for info in stored]

    def _summary(self, app_id: str, info: CredentialInfo) -> dict[str, str]:
        if info.kind != "vapid":
            return dict(info.settings)
        try:
            opened = self.box.open(info.sealed, credential_purpose(app_id, info.platform))
            public_key = application_server_key(vapid_key(opened, source="VAPID key"))
        except (SecretsUnavailable, CredentialsError) as error:
            return {**info.settings, "public_key": f"unavailable: {error}"}
        return {**info.settings, "public_key": public_key}

    async def put_category(self, app_id: str, category: Category) -> None:
        """Create or replace one of the app's notification categories."""

        async def change(conn: Connection) -> None:
            await category_store.put_category(conn, app_id, category, self.clock.now())

        await self._change(app_id, change)

    async def delete_category(self, app_id: str, category_id: str) -> None:
        """Forget a category; requests naming it are refused from then on."""

        async def change(conn: Connection) -> None:
            if not await category_store.delete_category(conn, app_id, category_id):
                raise AdminNotFound(f"app {app_id!r} has no category {category_id!r}")

        await self._change(app_id, change)

    async def categories(self, app_id: str) -> list[Category]:
        return await self._read(app_id, lambda conn: category_store.categories_of(conn, app_id))

    async def create_webhook(
        self, app_id: str, url: str, stages: Sequence[str] | None = None
    ) -> tuple[WebhookInfo, str]:
        """Register a webhook; its signing secret is returned this once and stored sealed."""
        checked = domain.checked_webhook_url(url, self.webhook_networks)
        chosen = domain.chosen_stages(stages)
        webhook_id = uuid.uuid4()
        secret = WEBHOOK_SECRET_PREFIX + new_signing_key()
        sealed = self.box.seal(secret.encode(), webhook_purpose(app_id, webhook_id))
        now = self.clock.now()

        async def change(conn: Connection) -> None:
            await webhook_store.add_webhook(conn, app_id, webhook_id, checked, chosen, sealed, now)

        await self._change(app_id, change)
        return WebhookInfo(webhook_id, checked, list(chosen), now), secret

    async def delete_webhook(self, app_id: str, webhook_id: uuid.UUID) -> None:
        """Stop POSTing to it; deliveries already waiting for it are dropped."""

        async def change(conn: Connection) -> None:
            if not await webhook_store.delete_webhook(conn, app_id, webhook_id):
                raise AdminNotFound(f"app {app_id!r} has no webhook {webhook_id}")

        await self._change(app_id, change)

    async def webhooks(self, app_id: str) -> list[WebhookInfo]:
        return await self._read(app_id, lambda conn: webhook_store.webhooks_of(conn, app_id))

    async def announce_all(self) -> int:
        """Publish every app's current state (at start-up: the broker may have lost it)."""
        async with transaction(self.pool) as conn:
            app_ids = await self.store.app_ids(conn)
            now = self.clock.now()
            snapshots = [await self.store.snapshot(conn, app_id, now) for app_id in app_ids]
        await self._publish(snapshots)
        return len(snapshots)

    async def reannounce(self, app_id: str, refused_revision: int | None) -> bool:
        """Publish the app's current state again after a follower refused a record naming it.

        On a compacted topic the newest record of each app is what a service starting later
        reads; re-publishing makes it the genuine current state again. Nothing is published for
        an unknown app, nor when the refused record was not older than the stored state (so this
        never answers its own announcements).
        """
        async with transaction(self.pool) as conn:
            try:
                snapshot = await self.store.snapshot(conn, app_id, self.clock.now())
            except AppNotFound:
                return False
        if refused_revision is not None and refused_revision >= snapshot.revision:
            return False
        await self._publish([snapshot])
        return True

    async def _read(self, app_id: str, read: Callable[[Connection], Awaitable[T]]) -> T:
        """What ``read`` finds of an existing app, with the app locked against changes meanwhile."""
        async with transaction(self.pool) as conn:
            try:
                await self.store.lock_app(conn, app_id)
            except AppNotFound:
                raise AdminNotFound(f"no app {app_id!r}") from None
            return await read(conn)

    async def _change(self, app_id: str, change: Callable[[Connection], Awaitable[None]]) -> None:
        async with transaction(self.pool) as conn:
            try:
                await self.store.lock_app(conn, app_id)
            except AppNotFound:
                raise AdminNotFound(f"no app {app_id!r}") from None
            await change(conn)
            await self._announce(conn, app_id)

    async def _announce(self, conn: Connection, app_id: str) -> None:
        now = self.clock.now()
        await self.store.bump_revision(conn, app_id, now)
        snapshot = await self.store.snapshot(conn, app_id, now)
        await self._publish([snapshot])

    async def _publish(self, snapshots: list[AppChanged]) -> None:
        await self.bus.publish_all(
            ((topics.APPS, snapshot) for snapshot in snapshots), signer=self.signature.headers
        )
