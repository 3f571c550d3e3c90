"""An app (tenant) as every service sees it: its keys, signing keys and provider credentials.

The registry owns apps and publishes an app's whole state on every change, each record signed
(shared.tenancy.announcements); services keep their own copy. Secrets travel sealed (AES-GCM with
a key from settings), so neither the broker nor a consumer without the key ever holds them in the
clear.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from contracts.base import InternalEvent, Model
from contracts.categories import Category
from contracts.content import HttpsUrl
from contracts.push import Platform
from contracts.trace import Stage

Scope = Literal["send", "devices", "badges", "admin"]
SCOPES: tuple[Scope, ...] = ("send", "devices", "badges", "admin")

CredentialKind = Literal["apns_token", "apns_certificate", "fcm_service_account", "vapid"]


class ApiKeyEntry(Model):
    """A server API key: only its SHA-256 digest, what it may do, and whether it was revoked."""

    key_id: uuid.UUID
    digest: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    scopes: list[Scope]
    label: Annotated[str, StringConstraints(max_length=100)] = ""
    revoked: bool = False


class Sealed(Model):
    """A secret sealed with the deployment's secrets key; base64 in JSON."""

    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    ciphertext: bytes


class SigningKeyEntry(Model):
    """A key the app's server signs user tokens with (sealed)."""

    key_id: uuid.UUID
    secret: Sealed
    revoked: bool = False


class IntakeKeyEntry(Model):
    """A key the app's producers sign their Kafka records with (sealed), so ingest knows which app
    a record comes from; issued by ``herald intake-keys create``."""

    key_id: uuid.UUID
    secret: Sealed
    revoked: bool = False


class ProviderCredential(Model):
    """How the app talks to one provider: public settings in ``settings``, secrets in ``secret``.

    ``settings`` by kind: apns_token {key_id, team_id, topic, environment}; apns_certificate
    {topic, environment}; fcm_service_account {project_id, client_email}; vapid {subject}.
    """

    platform: Platform
    kind: CredentialKind
    settings: dict[str, str] = Field(default_factory=dict)
    secret: Sealed


#: What a webhook gets unless its app chooses: how each user's and device's story ended.
DEFAULT_WEBHOOK_STAGES: tuple[Stage, ...] = (
    "sent",
    "withheld",
    "expired",
    "cancelled",
    "no_device",
    "token_deactivated",
    "parked",
    "opened",
)


class WebhookEntry(Model):
    """An https URL the app's trace events are POSTed to (herald webhooks create), the stages it
    wants, and the secret each POST is signed with (sealed)."""

    webhook_id: uuid.UUID
    url: HttpsUrl
    stages: list[Stage] = Field(min_length=1)
    secret: Sealed


class AppChanged(InternalEvent):
    """The whole current state of one app; a newer ``revision`` replaces an older one."""

    type: Literal["app.changed"] = "app.changed"
    version: Literal[1] = 1
    revision: int = Field(ge=1)
    name: Annotated[str, StringConstraints(max_length=200)] = ""
    disabled: bool = False
    api_keys: list[ApiKeyEntry] = Field(default_factory=list)
    signing_keys: list[SigningKeyEntry] = Field(default_factory=list)
    credentials: list[ProviderCredential] = Field(default_factory=list)
    intake_keys: list[IntakeKeyEntry] = Field(default_factory=list)
    categories: list[Category] = Field(
        default_factory=list, description="The app's notification categories (herald categories)."
    )
    webhooks: list[WebhookEntry] = Field(
        default_factory=list, description="Where the app's outcomes are POSTed (herald webhooks)."
    )
