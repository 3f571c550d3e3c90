"""The apps (tenants) as every service sees them, and the wiring that gives a service its view.

The parts: ``directory`` (each service's in-memory copy of the apps), ``feed`` (follows
``apps.changed`` into it), ``auth`` (server API keys and user tokens) and ``callers`` (who presents
which credential). Every service that authenticates callers calls ``start_tenancy`` in its
composition root and runs ``feed.run`` beside its consumers.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.ratelimit import RateLimiter, RateLimitSettings
from shared.secrets import SecretBox, SecretsSettings
from shared.settings import KafkaSettings
from shared.tenancy.auth import ApiKeySettings, UserTokenSettings
from shared.tenancy.callers import Authenticator
from shared.tenancy.directory import AppDirectory
from shared.tenancy.feed import AppsFeed, RefusalListener


class TenancySettings(ApiKeySettings, UserTokenSettings, SecretsSettings, RateLimitSettings):
    """Static bootstrap credentials, the secrets keys and the rate limits."""


@dataclass
class Tenancy:
    """A service's view of the apps."""

    directory: AppDirectory
    feed: AppsFeed
    authenticator: Authenticator
    limiter: RateLimiter


async def start_tenancy(
    kafka: KafkaSettings,
    settings: TenancySettings,
    client_id: str,
    *,
    on_refused: RefusalListener | None = None,
) -> Tenancy:
    """Load every app published so far; the returned feed keeps following once run."""
    directory = AppDirectory(SecretBox(settings), settings, settings)
    feed = AppsFeed(kafka, directory, client_id, on_refused=on_refused)
    await feed.start()
    return Tenancy(
        directory=directory,
        feed=feed,
        authenticator=Authenticator(directory, settings.user_token_max_lifetime_seconds),
        limiter=RateLimiter(settings),
    )
