"""Apps that may send over Kafka, announced as the registry would, for tests that run ingest
without a registry; and records signed the way an app's producer signs them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from contracts import topics
from contracts.apps import AppChanged, IntakeKeyEntry, Sealed
from contracts.categories import Category
from shared.kafka.bus import Signer
from shared.runtime import prepare_topics
from shared.secrets import SecretBox
from shared.settings import KafkaSettings
from shared.signatures import SIGNATURE_HEADER, sign
from shared.tenancy.announcements import AppsSignature
from shared.tenancy.auth import new_signing_key
from shared.tenancy.directory import intake_key_purpose
from tests.support.kafka import TopicIO


def intake_signer(key_id: str, secret: str) -> Signer:
    """Signs records the way an app's producer does with its intake key (README)."""

    def signed(value: bytes) -> dict[str, str]:
        return {SIGNATURE_HEADER: sign(key_id, secret.encode(), value)}

    return signed


@dataclass(frozen=True)
class IntakeKey:
    """One app's intake key, as ``herald intake-keys create`` hands it out."""

    app_id: str
    key_id: str
    secret: str = field(repr=False)

    @property
    def signer(self) -> Signer:
        return intake_signer(self.key_id, self.secret)


async def announce_intake_keys(
    kafka: KafkaSettings, box: SecretBox, *app_ids: str, categories: Sequence[Category] = ()
) -> dict[str, IntakeKey]:
    """Publish each app's state with one fresh intake key (and ``categories``), signed with
    ``box``'s keys, on the catalog's topics (created first, as the registry's start-up would:
    Kafka creates none)."""
    await prepare_topics(kafka)
    keys: dict[str, IntakeKey] = {}
    states = []
    for app_id in app_ids:
        key_id, secret = uuid.uuid4(), new_signing_key()
        sealed = box.seal(secret.encode(), intake_key_purpose(app_id, key_id))
        keys[app_id] = IntakeKey(app_id, str(key_id), secret)
        states.append(
            AppChanged(
                event_id=uuid.uuid4(),
                app_id=app_id,
                occurred_at=datetime.now(UTC),
                revision=1,
                intake_keys=[IntakeKeyEntry(key_id=key_id, secret=Sealed(ciphertext=sealed))],
                categories=list(categories),
            )
        )
    await TopicIO(kafka, AppsSignature(box).headers).produce(topics.APPS, *states)
    return keys
