"""Per-app providers: an app whose stored credentials cannot work is paused, and no other app."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from contracts.apps import AppChanged
from contracts.push import PushRequest
from services.dispatcher.delivery import Again, Deliverer, Done
from services.dispatcher.domain import Delivered, PausePolicy, RetryPolicy, Verdict
from services.dispatcher.pauses import Paused, Pauses
from services.dispatcher.platforms import provider_factory
from services.dispatcher.settings import DispatcherSettings
from services.dispatcher.tenants import TenantProviders
from shared.secrets import SecretBox, SecretsSettings, new_secrets_key
from shared.tenancy.directory import AppDirectory, credential_purpose
from tests.support.clock import FrozenClock
from tests.support.factories import push_request

pytestmark = pytest.mark.unit

BOX = SecretBox(SecretsSettings(secrets_keys=[SecretStr(new_secrets_key())]))


class DefaultProvider:
    """The deployment's own provider: delivers everything it is given."""

    def __init__(self) -> None:
        self.sent: list[PushRequest] = []

    async def attempt(self, request: PushRequest, now: datetime) -> Verdict:
        self.sent.append(request)
        return Delivered(200, "projects/p/messages/1")

    async def close(self) -> None:
        return None


def fcm_credential(app_id: str, secret: bytes, settings: dict[str, str]) -> AppChanged:
    values: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "app_id": app_id,
        "occurred_at": datetime(2026, 1, 1, tzinfo=UTC),
        "revision": 1,
        "credentials": [
            {
                "platform": "fcm",
                "kind": "fcm_service_account",
                "settings": settings,
                "secret": {"ciphertext": BOX.seal(secret, credential_purpose(app_id, "fcm"))},
            }
        ],
    }
    return AppChanged.model_validate(values)


@pytest.mark.parametrize(
    "secret",
    [b"not json", b'{"type": "service_account", "project_id": "p"}', b'{"type": "other"}'],
)
async def test_a_bad_stored_fcm_credential_pauses_that_app_and_no_other(
    secret: bytes,
) -> None:
    clock = FrozenClock()
    directory = AppDirectory(BOX)
    directory.apply(fcm_credential("broken", secret, {"project_id": "p"}))
    default = DefaultProvider()
    tenants = TenantProviders(
        "fcm", provider_factory("fcm"), DispatcherSettings(), clock, directory, default
    )
    pauses = Pauses(PausePolicy(30.0, 300.0), tenants.revision)
    deliverer = Deliverer(tenants, clock, RetryPolicy(1.0, 60.0), pauses)

    broken = await deliverer.step(push_request(clock.now(), "fcm", app_id="broken"))
    again = await deliverer.step(push_request(clock.now(), "fcm", app_id="broken"))
    other = await deliverer.step(push_request(clock.now(), "fcm", app_id="other"))

    assert isinstance(broken, Again)
    assert isinstance(again, Again)
    assert (broken.request.attempt, broken.request.not_before) == (
        0,
        clock.now() + timedelta(seconds=30),
    )
    assert again.request.not_before == broken.request.not_before
    assert isinstance(pauses.admit("broken", clock.now()), Paused)
    assert isinstance(other, Done)
    assert other.result.outcome == "delivered"
    assert [request.app_id for request in default.sent] == ["other"]
