"""The registry of push platforms: each maps to the factory of its provider.

Adding a platform is one folder under ``platforms/`` and one line here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from contracts.push import Platform
from services.dispatcher.platforms.apns.provider import create_apns_provider
from services.dispatcher.platforms.base import Provider
from services.dispatcher.platforms.fcm.provider import create_fcm_provider
from services.dispatcher.platforms.webpush.provider import create_webpush_provider
from services.dispatcher.settings import DispatcherSettings
from shared.appdir import AppCredential
from shared.clock import Clock

#: Builds a provider from an app's stored credentials, or from settings when given None.
ProviderFactory = Callable[[DispatcherSettings, Clock, AppCredential | None], Awaitable[Provider]]

PROVIDERS: dict[Platform, ProviderFactory] = {
    "apns": create_apns_provider,
    "fcm": create_fcm_provider,
    "webpush": create_webpush_provider,
}


#: Whether settings hold a deployment-wide credential for the platform (used by apps that stored
#: none of their own).
HAS_DEFAULT_CREDENTIALS: dict[Platform, Callable[[DispatcherSettings], bool]] = {
    "apns": lambda s: s.apns_key_file is not None or s.apns_cert_file is not None,
    "fcm": lambda s: s.fcm_service_account_file is not None,
    "webpush": lambda s: s.webpush_vapid_private_key_file is not None,
}


def provider_factory(platform: Platform) -> ProviderFactory:
    """The factory of ``platform``'s provider."""
    return PROVIDERS[platform]
