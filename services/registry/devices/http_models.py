"""The bodies of the device API: what an app sends to register a token, and what it reads back.

Input is checked here, before anything touches the database, and every refusal names the field
and the limit it breaks.
"""

from __future__ import annotations

import functools
import re
import uuid
import zoneinfo
from datetime import datetime

from pydantic import BaseModel, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from contracts.base import AddressableUserId, PublicRequest
from contracts.push import ApnsEnvironment, Platform
from services.registry.devices.domain import Device, Registration
from shared.logs import token_ref
from shared.platforms import canonical_token
from shared.platforms.base import TokenFormatError
from shared.platforms.webpush.settings import WebPushHostSettings

_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")
_PRINTABLE = re.compile(r"[\x20-\x7e]+")


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@functools.cache
def _webpush_hosts() -> tuple[str, ...]:
    return tuple(WebPushHostSettings().webpush_allowed_hosts)


class DeviceRegistration(PublicRequest):
    """A device's token and who uses it now. Sending it again for the same token updates it."""

    user_id: AddressableUserId
    platform: Platform
    token: str = Field(
        description="apns: 64-200 hex digits; fcm: 32-4096 characters of letters, digits and "
        "'_:.-'; webpush: the browser's PushSubscription as JSON "
        '({"endpoint": "https://...", "keys": {"p256dh": ..., "auth": ...}}), its endpoint on an '
        "allowed push service host."
    )
    locale: str | None = Field(
        default=None, max_length=35, description="A BCP 47 language tag such as en or pt-BR."
    )
    time_zone: str | None = Field(
        default=None, description="An IANA time zone name such as Europe/Paris."
    )
    app_version: str | None = Field(
        default=None, min_length=1, max_length=64, description="Printable ASCII."
    )
    apns_environment: ApnsEnvironment | None = Field(
        default=None,
        description="APNs only: sandbox for a token of a development build (Xcode), production "
        "for TestFlight and App Store builds; default: the environment of the app's APNs "
        "credentials. A token works only in the environment that issued it.",
    )
    device_secret: str | None = Field(
        default=None,
        max_length=64,
        description="The secret this device was given when it registered the token: needed, "
        "with a user token, to move a token another user holds.",
    )

    @field_validator("token")
    @classmethod
    def _token_fits_platform(cls, token: str, info: ValidationInfo) -> str:
        platform = info.data.get("platform")
        if platform is None:
            return token
        try:
            return canonical_token(platform, token, webpush_hosts=_webpush_hosts())
        except TokenFormatError as error:
            raise PydanticCustomError("token_format", str(error)) from None

    @field_validator("apns_environment")
    @classmethod
    def _apns_only(
        cls, environment: ApnsEnvironment | None, info: ValidationInfo
    ) -> ApnsEnvironment | None:
        platform = info.data.get("platform")
        if environment is not None and platform is not None and platform != "apns":
            raise PydanticCustomError(
                "apns_only",
                "apns_environment applies to platform apns only, not {platform}",
                {"platform": platform},
            )
        return environment

    @field_validator("locale")
    @classmethod
    def _language_tag(cls, locale: str | None) -> str | None:
        if locale is not None and not _LOCALE.fullmatch(locale):
            raise PydanticCustomError(
                "locale_format", "expected a BCP 47 language tag such as en or pt-BR"
            )
        return locale

    @field_validator("time_zone")
    @classmethod
    def _iana_zone(cls, time_zone: str | None) -> str | None:
        if time_zone is not None and time_zone not in _time_zones():
            raise PydanticCustomError(
                "time_zone_unknown",
                "{time_zone!r} is not an IANA time zone name (such as Europe/Paris)",
                {"time_zone": time_zone},
            )
        return time_zone

    @field_validator("app_version")
    @classmethod
    def _printable(cls, app_version: str | None) -> str | None:
        if app_version is not None and not _PRINTABLE.fullmatch(app_version):
            raise PydanticCustomError(
                "app_version_format", "app_version contains only printable ASCII characters"
            )
        return app_version

    def for_app(self, app_id: str) -> Registration:
        """The registration on behalf of ``app_id`` (which comes from the API key)."""
        return Registration(
            app_id=app_id,
            user_id=self.user_id,
            platform=self.platform,
            token=self.token,
            locale=self.locale,
            time_zone=self.time_zone,
            app_version=self.app_version,
            apns_environment=self.apns_environment,
        )


class DeviceRecord(BaseModel):
    """A registered device as the API shows it. ``token_ref`` is how logs refer to the token;
    ``last_success_at`` is the last delivery the provider accepted, to within an hour."""

    device_id: uuid.UUID
    user_id: str
    platform: Platform
    token: str
    token_ref: str
    locale: str | None
    time_zone: str | None
    app_version: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    last_registered_at: datetime
    last_success_at: datetime | None
    deactivated_at: datetime | None
    deactivation_reason: str | None
    apns_environment: ApnsEnvironment | None

    @classmethod
    def of(cls, device: Device) -> DeviceRecord:
        return cls(
            device_id=device.device_id,
            user_id=device.user_id,
            platform=device.platform,
            token=device.token,
            token_ref=token_ref(device.token),
            locale=device.locale,
            time_zone=device.time_zone,
            app_version=device.app_version,
            active=device.active,
            created_at=device.created_at,
            updated_at=device.updated_at,
            last_registered_at=device.last_registered_at,
            last_success_at=device.last_success_at,
            deactivated_at=device.deactivated_at,
            deactivation_reason=device.deactivation_reason,
            apns_environment=device.apns_environment,
        )


class RegisteredDevice(DeviceRecord):
    """The answer to a registration: the device, and a secret when one was issued (shown once;
    the device keeps it to prove itself if its token must move to another user)."""

    device_secret: str | None = None


class DeviceList(BaseModel):
    """A user's devices, oldest first."""

    devices: list[DeviceRecord]
