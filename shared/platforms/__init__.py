"""Everything pure about each push platform, one package per platform, and the one registry of
them that ingest, the registry service and the dispatcher all read.

A platform package renders a push (``payload``), states what the provider accepts besides size
(``rules``: the provider's own rules for a request, which its emulator applies too; override
headers, data keys, tokens), checks credentials (``credentials``) and holds its settings
(``settings``). Nothing here does I/O: sending is the dispatcher's
(``services/dispatcher/platforms/<platform>/``). Adding a platform is one package here and one
entry in ``PLATFORMS``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from contracts.content import Content
from contracts.push import Platform, PushRequest
from shared.platforms.apns import credentials as apns_credentials
from shared.platforms.apns import rules as apns_rules
from shared.platforms.apns import settings as apns_settings
from shared.platforms.base import Breach, Measure, PlatformSettings, Stored
from shared.platforms.fcm import credentials as fcm_credentials
from shared.platforms.fcm import rules as fcm_rules
from shared.platforms.fcm import settings as fcm_settings
from shared.platforms.webpush import credentials as webpush_credentials
from shared.platforms.webpush import rules as webpush_rules
from shared.platforms.webpush import settings as webpush_settings
from shared.platforms.webpush.subscription import DEFAULT_WEBPUSH_HOSTS

SettingsT = TypeVar("SettingsT", bound=PlatformSettings)
CredentialT = TypeVar("CredentialT")


@dataclass(frozen=True)
class PlatformRules(Generic[SettingsT, CredentialT]):
    """One platform as every service sees it."""

    name: Platform
    #: How messages to senders and operators name the platform.
    label: str
    #: Its settings (``HERALD_<PLATFORM>_*``), mixed into the dispatcher's.
    settings: type[SettingsT]
    #: True when settings hold a deployment-wide credential (for apps that stored none).
    configured: Callable[[SettingsT], bool]
    #: An app's stored credential, checked and ready to use; raises CredentialsError.
    parse_credential: Callable[[Stored], CredentialT]
    #: A device token as stored (given the allowed Web Push hosts); raises TokenFormatError.
    canonical_token: Callable[[str, Sequence[str]], str]
    #: What in a notification's content the renderer refuses, whatever its size.
    content_breaches: Callable[[Content], Iterator[Breach]]
    #: What the provider refuses in a push rendered from the request (the emulator's rules).
    refusals: Callable[[PushRequest, datetime], Iterator[Breach]]
    #: A push rendered by the real renderer at its largest settings, measured as the provider
    #: counts it; raises PayloadError as the renderer does.
    largest: Callable[[PushRequest, datetime], Measure]


PLATFORMS: Mapping[Platform, PlatformRules[Any, Any]] = {
    "apns": PlatformRules(
        name="apns",
        label="APNs",
        settings=apns_settings.ApnsSettings,
        configured=apns_settings.configured,
        parse_credential=apns_credentials.parse,
        canonical_token=apns_rules.canonical_token,
        content_breaches=apns_rules.content_breaches,
        refusals=apns_rules.refusals,
        largest=apns_rules.largest,
    ),
    "fcm": PlatformRules(
        name="fcm",
        label="FCM",
        settings=fcm_settings.FcmSettings,
        configured=fcm_settings.configured,
        parse_credential=fcm_credentials.parse,
        canonical_token=fcm_rules.canonical_token,
        content_breaches=fcm_rules.content_breaches,
        refusals=fcm_rules.refusals,
        largest=fcm_rules.largest,
    ),
    "webpush": PlatformRules(
        name="webpush",
        label="Web Push",
        settings=webpush_settings.WebPushSettings,
        configured=webpush_settings.configured,
        parse_credential=webpush_credentials.parse,
        canonical_token=webpush_rules.canonical_token,
        content_breaches=webpush_rules.content_breaches,
        refusals=webpush_rules.refusals,
        largest=webpush_rules.largest,
    ),
}


def canonical_token(
    platform: Platform, token: str, *, webpush_hosts: Sequence[str] = DEFAULT_WEBPUSH_HOSTS
) -> str:
    """The token as Herald stores it; raise TokenFormatError when it breaks the platform's rule."""
    return PLATFORMS[platform].canonical_token(token, webpush_hosts)
