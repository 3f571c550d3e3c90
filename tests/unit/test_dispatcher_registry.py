"""Platform selection: the registry knows FCM, refuses what is not built, and needs a key file."""

from __future__ import annotations

import pytest

from services.dispatcher.platforms.fcm.credentials import CredentialsError
from services.dispatcher.platforms.fcm.provider import create_fcm_provider
from services.dispatcher.registry import provider_factory
from services.dispatcher.settings import DispatcherSettings
from tests.support.clock import FrozenClock

pytestmark = pytest.mark.unit


def test_fcm_is_registered() -> None:
    assert provider_factory("fcm") is create_fcm_provider


def test_a_platform_not_built_yet_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no dispatcher for platform 'apns' yet"):
        provider_factory("apns")


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
