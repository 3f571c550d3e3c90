"""The registry of push platforms: each maps to the factory of its provider.

Adding a platform is one folder under ``platforms/`` and one line here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from contracts.push import Platform
from services.dispatcher.platforms.base import Provider
from services.dispatcher.platforms.fcm.provider import create_fcm_provider
from services.dispatcher.settings import DispatcherSettings
from shared.clock import Clock

ProviderFactory = Callable[[DispatcherSettings, Clock], Awaitable[Provider]]

PROVIDERS: dict[Platform, ProviderFactory] = {
    "fcm": create_fcm_provider,
}


def provider_factory(platform: Platform) -> ProviderFactory:
    """The factory for ``platform``; a clear error for a platform not built yet."""
    try:
        return PROVIDERS[platform]
    except KeyError:
        built = ", ".join(sorted(PROVIDERS))
        raise ValueError(
            f"no dispatcher for platform {platform!r} yet (available: {built})"
        ) from None
