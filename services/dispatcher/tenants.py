"""One provider per app: each app's pushes go out with its own credentials.

An app that stored credentials for this platform (``herald credentials set``) gets a provider built
from them, rebuilt when they change; other apps use the deployment's default provider from
settings, if there is one. A provider is built on the app's first push, not at start-up. An app
without credentials, or with credentials that cannot work (whatever building its provider fails
with), is paused with the reason until an operator stores new ones; no other app notices.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from contracts.push import Platform, PushRequest
from services.dispatcher.domain import Pause, Verdict
from services.dispatcher.platforms import ProviderFactory
from services.dispatcher.platforms.base import Provider
from services.dispatcher.settings import DispatcherSettings
from shared.clock import Clock
from shared.platforms import PLATFORMS
from shared.tenancy.directory import AppDirectory

log = logging.getLogger(__name__)


@dataclass
class _Built:
    revision: int
    provider: Provider | None
    problem: str | None


class TenantProviders:
    """A Provider that routes each push to its app's own provider."""

    def __init__(
        self,
        platform: Platform,
        factory: ProviderFactory,
        settings: DispatcherSettings,
        clock: Clock,
        directory: AppDirectory,
        default: Provider | None,
    ) -> None:
        self.platform = platform
        self.parse = PLATFORMS[platform].parse_credential
        self.factory = factory
        self.settings = settings
        self.clock = clock
        self.directory = directory
        self.default = default
        self._built: dict[str, _Built] = {}
        self._lock = asyncio.Lock()
        self._retired: list[Provider] = []

    async def attempt(self, request: PushRequest, now: datetime) -> Verdict:
        provider, problem = await self._provider_for(request.app_id)
        if provider is None:
            return Pause(problem or "no credentials", None)
        return await provider.attempt(request, now)

    def revision(self, app_id: str) -> int | None:
        """The revision of the app's credentials here (None: the deployment's own)."""
        credential = self.directory.credential(app_id, self.platform)
        return None if credential is None else credential.revision

    async def _provider_for(self, app_id: str) -> tuple[Provider | None, str | None]:
        credential = self.directory.credential(app_id, self.platform)
        if credential is None:
            if self.default is None:
                return None, f"app {app_id} has no {self.platform} credentials"
            return self.default, None
        built = self._built.get(app_id)
        if built is not None and built.revision == credential.revision:
            return built.provider, built.problem
        async with self._lock:
            built = self._built.get(app_id)
            if built is None or built.revision != credential.revision:
                built = await self._build(app_id, credential.revision)
        return built.provider, built.problem

    async def _build(self, app_id: str, revision: int) -> _Built:
        credential = self.directory.credential(app_id, self.platform)
        old = self._built.pop(app_id, None)
        if old is not None and old.provider is not None:
            self._retired.append(old.provider)
        try:
            parsed = None if credential is None else self.parse(credential)
            provider = await self.factory(self.settings, self.clock, parsed)
        except Exception as error:
            # The boundary between one app's credentials and every other app: whatever building
            # its provider fails with (CredentialsError from the parser, OSError from TLS, a
            # library's own error on an odd key) pauses that app alone.
            log.error("app %s: %s credentials unusable: %s", app_id, self.platform, error)
            built = _Built(revision, None, f"app {app_id}: {self.platform} credentials unusable")
        else:
            log.info("app %s: %s provider ready (revision %d)", app_id, self.platform, revision)
            built = _Built(revision, provider, None)
        self._built[app_id] = built
        return built

    async def close(self) -> None:
        providers = [b.provider for b in self._built.values() if b.provider is not None]
        for provider in [*providers, *self._retired]:
            await provider.close()
        if self.default is not None:
            await self.default.close()
