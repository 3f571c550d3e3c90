"""One app's revoked APNs key never delays another app's pushes, through the real broker and the
APNs emulator, on the wall clock.

Two apps store their own credentials on apps.changed: "steady" a key the emulator trusts, "revoked"
one it does not (403 InvalidProviderToken, as for a revoked key). Steady's pushes arrive at once;
revoked's wait, untouched, costing the provider one refused request per pause rather than one per
push; once apps.changed brings revoked a good key, its pushes go out at once, each exactly once.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from contracts import topics
from contracts.apps import AppChanged, ProviderCredential, Sealed
from contracts.push import PushResult
from contracts.topics import all_topics
from services.dispatcher.app import build
from services.dispatcher.settings import DispatcherSettings
from services.emulators.apns.keys import key_id_of, write_auth_key
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.ports import free_port
from shared.kafka.admin import ensure_topics
from shared.secrets import SecretBox, SecretsSettings, new_secrets_key
from shared.tenancy.announcements import AppsSignature
from shared.tenancy.directory import credential_purpose
from tests.support.apns import TEAM_ID, TOPIC, apns_emulator
from tests.support.factories import push_request
from tests.support.kafka import TopicIO, kafka_settings_for_test
from tests.support.services import running

pytestmark = pytest.mark.integration

PUSHES = 30


def apns_credentials(box: SecretBox, app_id: str, revision: int, key: Path) -> AppChanged:
    """The app's whole state on apps.changed: token auth with ``key``, sealed as the registry
    seals it (and signed as it signs, by the producer below)."""
    sealed = box.seal(key.read_bytes(), credential_purpose(app_id, "apns"))
    credential = ProviderCredential(
        platform="apns",
        kind="apns_token",
        settings={
            "key_id": key_id_of(key),
            "team_id": TEAM_ID,
            "topic": TOPIC,
            "environment": "production",
        },
        secret=Sealed(ciphertext=sealed),
    )
    return AppChanged(
        event_id=uuid.uuid4(),
        app_id=app_id,
        occurred_at=datetime.now(UTC),
        revision=revision,
        credentials=[credential],
    )


async def test_a_revoked_key_holds_only_its_app_and_new_credentials_release_it_at_once(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    secrets = new_secrets_key()
    box = SecretBox(SecretsSettings(secrets_keys=[SecretStr(secrets)]))
    kafka = kafka_settings_for_test(broker.bootstrap)
    io = TopicIO(kafka)
    registry = TopicIO(kafka, AppsSignature(box).headers)
    await ensure_topics(kafka, all_topics())
    async with apns_emulator(tmp_path / "apns") as emulator:
        trusted = emulator.key_path
        revoked = write_auth_key(tmp_path / "revoked")
        await registry.produce(
            topics.APPS,
            apns_credentials(box, "steady", 1, trusted),
            apns_credentials(box, "revoked", 1, revoked),
        )
        settings = DispatcherSettings(
            **kafka.model_dump(),
            **emulator.dispatcher_settings(),
            secrets_keys=[SecretStr(secrets)],
            http_port=free_port(),
            dispatcher_pause_seconds=1.0,
            dispatcher_pause_max_seconds=2.0,
            dispatcher_retry_hold_seconds=1.0,
        )
        now = datetime.now(UTC)
        steady = [push_request(now, "apns", app_id="steady") for _ in range(PUSHES)]
        held = [push_request(now, "apns", app_id="revoked") for _ in range(PUSHES)]
        async with running(await build(settings)):
            started = time.monotonic()
            await io.produce(
                topics.PUSH["apns"], *(p for pair in zip(held, steady, strict=True) for p in pair)
            )
            first = await io.read(topics.RESULTS, until=lambda found: len(found) >= PUSHES)
            steady_seconds = time.monotonic() - started
            await io.read(topics.RESULTS, until=lambda _: time.monotonic() - started > 6)
            refused = [r for r in await emulator.requests() if r["status"] == 403]
            await registry.produce(topics.APPS, apns_credentials(box, "revoked", 2, trusted))
            fixed = time.monotonic()
            found = await io.read(topics.RESULTS, until=lambda found: len(found) >= 2 * PUSHES)
            fixed_seconds = time.monotonic() - fixed
        accepted = Counter(m["apns_id"] for m in await emulator.recorded())

    results = [r for r in found if isinstance(r, PushResult)]
    print(
        f"steady: {PUSHES} delivered in {steady_seconds:.2f}s; revoked: {len(refused)} refused "
        f"requests in 6s of pauses, {PUSHES} delivered {fixed_seconds:.2f}s after new credentials"
    )
    assert {(r.app_id, r.outcome) for r in first} == {("steady", "delivered")}
    assert steady_seconds < 5
    assert len(results) == 2 * PUSHES
    assert {(r.app_id, r.outcome, r.attempts) for r in results} == {
        ("steady", "delivered", 1),
        ("revoked", "delivered", 1),
    }
    assert len(refused) < PUSHES + 10
    assert fixed_seconds < 3
    assert accepted == Counter({str(p.event_id): 1 for p in steady + held})
