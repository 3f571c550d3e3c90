"""The registry of push platforms: each maps to the factory of its provider.

Adding a platform is one folder under ``platforms/`` and one line here. A dispatcher serves one
platform, so only that platform's modules are imported: the others' client libraries (aioapns,
google-auth, http_ece) would cost every dispatcher ~10 MB of memory for nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import cast

from contracts.push import Platform
from services.dispatcher.platforms.base import Provider
from services.dispatcher.settings import DispatcherSettings
from shared.appdir import AppCredential
from shared.clock import Clock

#: Builds a provider from an app's stored credentials, or from settings when given None.
ProviderFactory = Callable[[DispatcherSettings, Clock, AppCredential | None], Awaitable[Provider]]

#: Each platform's provider factory, as ``module:function``.
PROVIDERS: dict[Platform, str] = {
    "apns": "services.dispatcher.platforms.apns.provider:create_apns_provider",
    "fcm": "services.dispatcher.platforms.fcm.provider:create_fcm_provider",
    "webpush": "services.dispatcher.platforms.webpush.provider:create_webpush_provider",
}


#: Whether settings hold a deployment-wide credential for the platform (used by apps that stored
#: none of their own).
HAS_DEFAULT_CREDENTIALS: dict[Platform, Callable[[DispatcherSettings], bool]] = {
    "apns": lambda s: s.apns_key_file is not None or s.apns_cert_file is not None,
    "fcm": lambda s: s.fcm_service_account_file is not None,
    "webpush": lambda s: s.webpush_vapid_private_key_file is not None,
}


def provider_factory(platform: Platform) -> ProviderFactory:
    """The factory of ``platform``'s provider (its modules are imported now)."""
    module, _, name = PROVIDERS[platform].partition(":")
    return cast(ProviderFactory, getattr(importlib.import_module(module), name))
