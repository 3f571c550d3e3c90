"""The dispatcher's I/O per push platform, one folder each: provider.py (the only module that
talks to the provider's send API, with its ``create_<platform>_provider`` factory), classify.py
(what the provider's replies mean) and the platform's authentication. What is pure about a
platform (rendering, limits, tokens, credentials, settings) is in ``shared/platforms/``.

A dispatcher serves one platform, so only that platform's folder is imported: the others' client
libraries (aioapns, google-auth) would cost every dispatcher ~10 MB of memory for nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any, cast

from contracts.push import Platform
from services.dispatcher.platforms.base import Provider
from services.dispatcher.settings import DispatcherSettings
from shared.clock import Clock

#: Builds a provider from an app's parsed credential, or from settings when given None.
ProviderFactory = Callable[[DispatcherSettings, Clock, Any], Awaitable[Provider]]


def provider_factory(platform: Platform) -> ProviderFactory:
    """The factory of ``platform``'s provider (its modules are imported now)."""
    module = importlib.import_module(f"{__name__}.{platform}.provider")
    return cast(ProviderFactory, getattr(module, f"create_{platform}_provider"))
