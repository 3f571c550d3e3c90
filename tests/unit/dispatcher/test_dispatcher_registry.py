"""Platform selection: every platform has a provider; each refuses to start without credentials."""

from __future__ import annotations

import pytest

from services.dispatcher.platforms import provider_factory
from services.dispatcher.platforms.apns.provider import create_apns_provider
from services.dispatcher.platforms.fcm.provider import create_fcm_provider
from services.dispatcher.platforms.webpush.provider import create_webpush_provider
from services.dispatcher.settings import DispatcherSettings
from shared.platforms.base import CredentialsError
from tests.support.clock import FrozenClock

pytestmark = pytest.mark.unit


def test_every_platform_has_a_provider() -> None:
    assert provider_factory("fcm") is create_fcm_provider
    assert provider_factory("apns") is create_apns_provider
    assert provider_factory("webpush") is create_webpush_provider


def test_platform_and_endpoint_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HERALD_DISPATCHER_PLATFORM", "webpush")
    monkeypatch.setenv("HERALD_FCM_BASE_URL", "http://127.0.0.1:9")

    settings = DispatcherSettings()

    assert settings.dispatcher_platform == "webpush"
    assert settings.fcm_base_url == "http://127.0.0.1:9"


async def test_fcm_needs_a_service_account_file() -> None:
    with pytest.raises(CredentialsError, match="HERALD_FCM_SERVICE_ACCOUNT_FILE"):
        await create_fcm_provider(DispatcherSettings(fcm_service_account_file=None), FrozenClock())


async def test_apns_needs_a_topic_and_a_key_or_certificate() -> None:
    with pytest.raises(ValueError, match="HERALD_APNS_TOPIC"):
        await create_apns_provider(DispatcherSettings(), FrozenClock())
    with pytest.raises(ValueError, match="HERALD_APNS_KEY_FILE"):
        await create_apns_provider(DispatcherSettings(apns_topic="com.example"), FrozenClock())


@pytest.mark.parametrize("topic", ["com.example/app", "com.example app", ".com.example", ""])
async def test_the_configured_topic_must_be_a_bundle_id_as_a_stored_ones_must(topic: str) -> None:
    settings = DispatcherSettings(apns_topic=topic)
    with pytest.raises(CredentialsError, match="HERALD_APNS_TOPIC: expected the app's bundle id"):
        await create_apns_provider(settings, FrozenClock())
    assert DispatcherSettings(dispatcher_platform="fcm", apns_topic=topic).apns_topic == topic


async def test_webpush_needs_a_vapid_key() -> None:
    with pytest.raises(ValueError, match="HERALD_WEBPUSH_VAPID_PRIVATE_KEY_FILE"):
        await create_webpush_provider(DispatcherSettings(), FrozenClock())
