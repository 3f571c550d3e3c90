"""The demo app of the local stack, made in-process with the registry's AppAdmin (behind the
admin API the ``herald`` CLI uses) before the registry starts: an app, a server key, a signing key
for user tokens, an intake key for sending over Kafka, and its APNs, FCM and Web Push credentials
(the emulators' generated ones), all stored sealed and announced on ``apps.changed``."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from services.devstack import credentials as generated
from services.devstack.credentials import StackCredentials
from services.emulators.apns.keys import key_id_of
from services.registry.apps.admin import AppAdmin
from services.registry.apps.store import MIGRATIONS, SCHEMA
from shared.clock import SystemClock
from shared.db import create_pool, migrate
from shared.kafka import create_bus
from shared.platforms.apns.credentials import token_credential
from shared.platforms.fcm.credentials import service_account_credential
from shared.platforms.webpush.credentials import vapid_credential
from shared.secrets import SecretBox, SecretsSettings
from shared.settings import DatabaseSettings, KafkaSettings

SCOPES = ("send", "devices", "badges", "admin")


@dataclass(frozen=True)
class DemoApp:
    """What a person trying the stack is handed: the server key, the user-token signing key, and
    the intake key (its id and secret) that signs what the app publishes to Kafka."""

    api_key: str
    signing_key: str
    intake_key_id: str
    intake_key_secret: str


async def provision(
    *, dsn: str, kafka: KafkaSettings, secrets_key: str, app_id: str, creds: StackCredentials
) -> DemoApp:
    """Create ``app_id`` with every credential the emulators accept."""
    pool = await create_pool(DatabaseSettings(database_dsn=SecretStr(dsn)), SCHEMA)
    bus = create_bus(kafka, client_id="devstack")
    try:
        await migrate(pool, SCHEMA, MIGRATIONS)
        await bus.broker.start()
        box = SecretBox(SecretsSettings(secrets_keys=[SecretStr(secrets_key)]))
        admin = AppAdmin(pool, bus, box, SystemClock())
        await admin.create_app(app_id, name="Demo app of make run")
        _, api_key = await admin.create_key(app_id, SCOPES, label="make run")
        _, signing_key = await admin.create_signing_key(app_id)
        intake_key_id, intake_key_secret = await admin.create_intake_key(app_id)
        for credential in (
            token_credential(
                creds.apns_key.read_bytes(),
                key_id=key_id_of(creds.apns_key),
                team_id=generated.APNS_TEAM_ID,
                topic=generated.APNS_TOPIC,
                environment="sandbox",
            ),
            service_account_credential(
                creds.fcm_account.read_bytes(), token_uris=[creds.fcm_token_uri]
            ),
            vapid_credential(creds.vapid_key.read_bytes(), subject=generated.VAPID_SUBJECT),
        ):
            await admin.set_credential(app_id, credential)
        return DemoApp(
            api_key=api_key,
            signing_key=signing_key,
            intake_key_id=str(intake_key_id),
            intake_key_secret=intake_key_secret,
        )
    finally:
        await bus.broker.stop()
        await pool.close()
