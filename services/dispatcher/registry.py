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
from shared.clock import Clock

ProviderFactory = Callable[[DispatcherSettings, Clock], Awaitable[Provider]]

PROVIDERS: dict[Platform, ProviderFactory] = {
    "apns": create_apns_provider,
    "fcm": create_fcm_provider,
    "webpush": create_webpush_provider,
}


def provider_factory(platform: Platform) -> ProviderFactory:
    """The factory of ``platform``'s provider."""
    return PROVIDERS[platform]
