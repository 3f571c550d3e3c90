"""Every service's own copy of the apps: who may call, with what, and each app's credentials.

Fed by ``apps.changed`` (the registry publishes an app's whole state on every change; the feed
checks each record's signature before it gets here) and by static bootstrap settings
(``HERALD_API_KEYS``, ``HERALD_APP_SIGNING_KEYS``), which grant every scope and never expire.
Lookups are in memory: a revoked key stops working as soon as the event arrives, with no database
round trip on the request path.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from contracts.apps import SCOPES, AppChanged, CredentialKind, Scope
from contracts.categories import Category
from contracts.push import Platform
from contracts.trace import Stage
from shared.secrets import SecretBox, SecretsUnavailable
from shared.tenancy.auth import ApiKeySettings, UserTokenSettings, key_digest

log = logging.getLogger(__name__)


def signing_key_purpose(app_id: str, key_id: uuid.UUID) -> str:
    return f"app:{app_id}/signing-key:{key_id}"


def credential_purpose(app_id: str, platform: str) -> str:
    return f"app:{app_id}/credential:{platform}"


def intake_key_purpose(app_id: str, key_id: uuid.UUID) -> str:
    return f"app:{app_id}/intake-key:{key_id}"


def webhook_purpose(app_id: str, webhook_id: uuid.UUID) -> str:
    return f"app:{app_id}/webhook:{webhook_id}"


@dataclass(frozen=True)
class KeyGrant:
    """What a presented server key may do, for which app."""

    app_id: str
    key_id: str
    scopes: frozenset[Scope]


@dataclass(frozen=True)
class AppCredential:
    """An app's credentials for one provider, opened; ``revision`` changes when they do."""

    app_id: str
    platform: Platform
    kind: CredentialKind
    settings: Mapping[str, str]
    secret: bytes
    revision: int


@dataclass(frozen=True)
class AppWebhook:
    """One of an app's webhooks with its signing secret opened."""

    app_id: str
    webhook_id: uuid.UUID
    url: str
    stages: frozenset[Stage]
    secret: bytes = field(repr=False)


@dataclass
class _App:
    revision: int
    disabled: bool
    signing_keys: list[str] = field(default_factory=list)
    credentials: dict[str, AppCredential] = field(default_factory=dict)
    intake_keys: dict[str, bytes] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)
    webhooks: dict[uuid.UUID, AppWebhook] = field(default_factory=dict)


class AppDirectory:
    """The apps this service knows, kept current from ``apps.changed``."""

    def __init__(
        self,
        box: SecretBox,
        static_keys: ApiKeySettings | None = None,
        static_signing: UserTokenSettings | None = None,
    ) -> None:
        self.box = box
        self._apps: dict[str, _App] = {}
        self._grants: dict[str, KeyGrant] = {}
        self._static_grants: dict[str, KeyGrant] = {}
        self._static_signing: dict[str, list[str]] = {}
        if static_keys is not None:
            for app, digests in static_keys.api_keys.items():
                for digest in digests:
                    grant = KeyGrant(app, f"static:{digest[:8]}", frozenset(SCOPES))
                    self._static_grants[digest.lower()] = grant
        if static_signing is not None:
            self._static_signing = {
                app: [key.get_secret_value() for key in keys]
                for app, keys in static_signing.app_signing_keys.items()
            }

    def apply(self, event: AppChanged) -> bool:
        """Take an app's new state; False (and nothing changes) when it is not newer."""
        current = self._apps.get(event.app_id)
        if current is not None and event.revision <= current.revision:
            return False
        self._grants = {
            digest: grant for digest, grant in self._grants.items() if grant.app_id != event.app_id
        }
        if not event.disabled:
            for key in event.api_keys:
                if not key.revoked:
                    self._grants[key.digest] = KeyGrant(
                        event.app_id, str(key.key_id), frozenset(key.scopes)
                    )
        app = _App(
            revision=event.revision,
            disabled=event.disabled,
            categories={category.category_id: category for category in event.categories},
        )
        for signing in event.signing_keys:
            if signing.revoked:
                continue
            try:
                purpose = signing_key_purpose(event.app_id, signing.key_id)
                app.signing_keys.append(self.box.open(signing.secret.ciphertext, purpose).decode())
            except SecretsUnavailable as error:
                log.error(
                    "app %s: signing key %s unusable: %s", event.app_id, signing.key_id, error
                )
        for intake in event.intake_keys:
            if intake.revoked:
                continue
            try:
                purpose = intake_key_purpose(event.app_id, intake.key_id)
                app.intake_keys[str(intake.key_id)] = self.box.open(
                    intake.secret.ciphertext, purpose
                )
            except SecretsUnavailable as error:
                log.error("app %s: intake key %s unusable: %s", event.app_id, intake.key_id, error)
        for hook in event.webhooks:
            try:
                secret = self.box.open(
                    hook.secret.ciphertext, webhook_purpose(event.app_id, hook.webhook_id)
                )
            except SecretsUnavailable as error:
                log.error("app %s: webhook %s unusable: %s", event.app_id, hook.webhook_id, error)
                continue
            app.webhooks[hook.webhook_id] = AppWebhook(
                event.app_id, hook.webhook_id, str(hook.url), frozenset(hook.stages), secret
            )
        for credential in event.credentials:
            try:
                secret = self.box.open(
                    credential.secret.ciphertext,
                    credential_purpose(event.app_id, credential.platform),
                )
            except SecretsUnavailable as error:
                log.error(
                    "app %s: %s credentials unusable: %s", event.app_id, credential.platform, error
                )
                continue
            app.credentials[credential.platform] = AppCredential(
                event.app_id,
                credential.platform,
                credential.kind,
                dict(credential.settings),
                secret,
                event.revision,
            )
        self._apps[event.app_id] = app
        return True

    def grant_for(self, presented_key: str) -> KeyGrant | None:
        """What ``presented_key`` may do; None when unknown, revoked or its app is disabled."""
        digest = key_digest(presented_key)
        grant = self._grants.get(digest) or self._static_grants.get(digest)
        if grant is None or self.disabled(grant.app_id):
            return None
        return grant

    def signing_keys(self, app_id: str) -> list[str]:
        """Keys that verify the app's user tokens (none for a disabled app)."""
        if self.disabled(app_id):
            return []
        app = self._apps.get(app_id)
        return (app.signing_keys if app else []) + self._static_signing.get(app_id, [])

    def intake_key(self, app_id: str, key_id: str) -> bytes | None:
        """The secret of the app's intake key ``key_id``; None when unknown, revoked or disabled."""
        app = self._apps.get(app_id)
        if app is None or app.disabled:
            return None
        return app.intake_keys.get(key_id)

    def category(self, app_id: str, category_id: str) -> Category | None:
        """The app's notification category ``category_id``; None when it has no such one."""
        app = self._apps.get(app_id)
        return None if app is None else app.categories.get(category_id)

    def revision(self, app_id: str) -> int | None:
        """The revision of the app's state held here; None before any arrived."""
        app = self._apps.get(app_id)
        return None if app is None else app.revision

    def credential(self, app_id: str, platform: str) -> AppCredential | None:
        """The app's own credentials for ``platform``, if it set any."""
        app = self._apps.get(app_id)
        if app is None or app.disabled:
            return None
        return app.credentials.get(platform)

    def webhooks(self, app_id: str) -> list[AppWebhook]:
        """The app's webhooks (none for a disabled app)."""
        app = self._apps.get(app_id)
        return [] if app is None or app.disabled else list(app.webhooks.values())

    def webhook(self, app_id: str, webhook_id: uuid.UUID) -> AppWebhook | None:
        """One of the app's webhooks; None once deleted, or while the app is disabled."""
        app = self._apps.get(app_id)
        return None if app is None or app.disabled else app.webhooks.get(webhook_id)

    def known(self, app_id: str) -> bool:
        """True for an app that exists here and is not disabled."""
        app = self._apps.get(app_id)
        if app is not None:
            return not app.disabled
        return any(grant.app_id == app_id for grant in self._static_grants.values()) or (
            app_id in self._static_signing
        )

    def disabled(self, app_id: str) -> bool:
        app = self._apps.get(app_id)
        return app is not None and app.disabled
