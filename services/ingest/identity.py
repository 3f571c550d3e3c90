"""Notification ids: a keyed hash of (app, idempotency key) under a key from HERALD_SECRETS_KEYS,
so a replay names the same id (dedupe and every stage's stored ids rely on it) while no other
tenant can predict it from an idempotency key. Pure: no I/O."""

from __future__ import annotations

import hashlib
import hmac
import uuid

from shared.secrets import SecretBox, SecretsUnavailable

PURPOSE = "notification-id"


class NotificationIds:
    """Derives notification ids under the deployment's first secrets key."""

    def __init__(self, box: SecretBox) -> None:
        keys = box.derived_keys(PURPOSE)
        if not keys:
            raise SecretsUnavailable(
                "ingest needs HERALD_SECRETS_KEYS: notification ids are derived with it"
            )
        self._key = keys[0].secret

    def of(self, app_id: str, idempotency_key: str) -> uuid.UUID:
        """The id of the app's notification sent with ``idempotency_key`` (a version 8 UUID).

        App ids never contain '/', so "<app>/<key>" names one pair only.
        """
        message = f"{app_id}/{idempotency_key}".encode()
        digest = bytearray(hmac.new(self._key, message, hashlib.sha256).digest()[:16])
        digest[6] = (digest[6] & 0x0F) | 0x80
        digest[8] = (digest[8] & 0x3F) | 0x80
        return uuid.UUID(bytes=bytes(digest))
