"""One provider per app: each app's pushes go out with its own credentials.

An app that stored credentials for this platform (``herald credentials set``) gets a provider built
from them, rebuilt when they change; other apps use the deployment's default provider from
settings, if there is one. A provider is built on the app's first push, not at start-up. Credentials
that cannot work (CredentialsError from the platform's parser or factory, OSError from files and
TLS) fail that app's pushes with the reason, and no other app's.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from contracts.push import Platform, PushRequest
from services.dispatcher.domain import Rejected, Verdict
from services.dispatcher.platforms import ProviderFactory
from services.dispatcher.platforms.base import Provider
from services.dispatcher.settings import DispatcherSettings
from shared.clock import Clock
from shared.platforms import PLATFORMS
from shared.platforms.base import CredentialsError
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
            return Rejected(outcome="failed", reason=problem or "no credentials", status=None)
        return await provider.attempt(request, now)

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
        except (CredentialsError, OSError) as error:
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
