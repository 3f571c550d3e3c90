"""The FCM HTTP v1 send request as Google defines it, with the checks FCM applies on receipt: the
FCM emulator answers by these, and ingest checks every push it renders against them, so the two
cannot drift.

Field names follow the proto JSON mapping: Google accepts both ``collapse_key`` and
``collapseKey``; unknown fields, wrong types and bad enum values are refused, as FCM does.
Reference: https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

#: Data keys FCM keeps for itself (ErrorCode INVALID_ARGUMENT, "Invalid data key").
RESERVED_DATA_KEYS = frozenset({"from", "message_type"})
RESERVED_DATA_PREFIXES = ("google", "gcm")
#: AndroidConfig.ttl: "between 0 and 2,419,200 seconds (28 days)" as a proto Duration ("3.5s").
MAX_TTL_SECONDS = 2_419_200


def _no_reserved_keys(data: dict[str, str]) -> dict[str, str]:
    for key in data:
        if key in RESERVED_DATA_KEYS or key.lower().startswith(RESERVED_DATA_PREFIXES):
            raise PydanticCustomError("fcm", "Invalid data key: {key} is reserved", {"key": key})
    return data


def _duration_in_range(value: str) -> str:
    if Decimal(value[:-1]) > MAX_TTL_SECONDS:
        raise PydanticCustomError(
            "fcm", "TTL must be between 0 and {limit} seconds", {"limit": MAX_TTL_SECONDS}
        )
    return value


Data = Annotated[dict[str, str], AfterValidator(_no_reserved_keys)]
Duration = Annotated[str, StringConstraints(pattern=r"^\d+(\.\d{1,9})?s$")]
Ttl = Annotated[Duration, AfterValidator(_duration_in_range)]
Timestamp = Annotated[
    str,
    StringConstraints(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$"),
]
AnalyticsLabel = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9\-_.~%]{1,50}$")]
Struct = dict[str, Any]


class _Proto(BaseModel):
    """A proto message in JSON: either spelling of a field name, nothing unknown, exact types."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        strict=True,
        frozen=True,
    )


class Notification(_Proto):
    title: str | None = None
    body: str | None = None
    image: str | None = None


class Color(_Proto):
    red: float | None = Field(default=None, ge=0, le=1)
    green: float | None = Field(default=None, ge=0, le=1)
    blue: float | None = Field(default=None, ge=0, le=1)
    alpha: float | None = Field(default=None, ge=0, le=1)


class LightSettings(_Proto):
    color: Color
    light_on_duration: Duration
    light_off_duration: Duration


class AndroidNotification(_Proto):
    title: str | None = None
    body: str | None = None
    icon: str | None = None
    color: Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")] | None = None
    sound: str | None = None
    tag: str | None = None
    click_action: str | None = None
    body_loc_key: str | None = None
    body_loc_args: list[str] | None = None
    title_loc_key: str | None = None
    title_loc_args: list[str] | None = None
    channel_id: str | None = None
    ticker: str | None = None
    sticky: bool | None = None
    event_time: Timestamp | None = None
    local_only: bool | None = None
    notification_priority: (
        Literal[
            "PRIORITY_UNSPECIFIED",
            "PRIORITY_MIN",
            "PRIORITY_LOW",
            "PRIORITY_DEFAULT",
            "PRIORITY_HIGH",
            "PRIORITY_MAX",
        ]
        | None
    ) = None
    default_sound: bool | None = None
    default_vibrate_timings: bool | None = None
    default_light_settings: bool | None = None
    vibrate_timings: list[Duration] | None = None
    visibility: Literal["VISIBILITY_UNSPECIFIED", "PRIVATE", "PUBLIC", "SECRET"] | None = None
    notification_count: int | None = Field(default=None, ge=0, le=2**31 - 1)
    light_settings: LightSettings | None = None
    image: str | None = None
    bypass_proxy_notification: bool | None = None
    proxy: Literal["PROXY_UNSPECIFIED", "ALLOW", "DENY", "IF_PRIORITY_LOWERED"] | None = None


class AndroidFcmOptions(_Proto):
    analytics_label: AnalyticsLabel | None = None


class AndroidConfig(_Proto):
    collapse_key: str | None = None
    # The Admin SDKs send the lower-case spelling and FCM takes it, so both are accepted.
    priority: Literal["NORMAL", "HIGH", "normal", "high"] | None = None
    ttl: Ttl | None = None
    restricted_package_name: str | None = None
    data: Data | None = None
    notification: AndroidNotification | None = None
    fcm_options: AndroidFcmOptions | None = None
    direct_boot_ok: bool | None = None
    bandwidth_constrained_ok: bool | None = None
    restricted_satellite_ok: bool | None = None


class ApnsFcmOptions(_Proto):
    analytics_label: AnalyticsLabel | None = None
    image: str | None = None


class ApnsConfig(_Proto):
    headers: dict[str, str] | None = None
    payload: Struct | None = None
    fcm_options: ApnsFcmOptions | None = None
    live_activity_token: str | None = None

    @model_validator(mode="after")
    def _apns_rules(self) -> ApnsConfig:
        headers = self.headers or {}
        if headers.get("apns-priority", "10") not in {"1", "5", "10"}:
            raise PydanticCustomError("fcm", "apns-priority must be 1, 5 or 10")
        if not headers.get("apns-expiration", "0").isdigit():
            raise PydanticCustomError("fcm", "apns-expiration must be a UNIX time in seconds")
        aps = (self.payload or {}).get("aps", {})
        if not isinstance(aps, dict):
            raise PydanticCustomError("fcm", "apns.payload.aps must be an object")
        badge = aps.get("badge", 0)
        if isinstance(badge, bool) or not isinstance(badge, int) or badge < 0:
            raise PydanticCustomError("fcm", "apns.payload.aps.badge must be a whole number ≥ 0")
        return self


class WebpushFcmOptions(_Proto):
    link: Annotated[str, StringConstraints(pattern=r"^https://")] | None = None
    analytics_label: AnalyticsLabel | None = None


class WebpushConfig(_Proto):
    headers: dict[str, str] | None = None
    data: Data | None = None
    notification: Struct | None = None
    fcm_options: WebpushFcmOptions | None = None


class FcmOptions(_Proto):
    analytics_label: AnalyticsLabel | None = None


class Message(_Proto):
    name: str | None = None
    data: Data | None = None
    notification: Notification | None = None
    android: AndroidConfig | None = None
    webpush: WebpushConfig | None = None
    apns: ApnsConfig | None = None
    fcm_options: FcmOptions | None = None
    token: str | None = None
    topic: Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9\-_.~%]+$")] | None = None
    condition: Annotated[str, StringConstraints(min_length=1)] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Message:
        targets = [name for name in ("token", "topic", "condition") if getattr(self, name)]
        if not targets:
            raise PydanticCustomError("fcm", "Recipient of the message is not set.")
        if len(targets) > 1:
            raise PydanticCustomError(
                "fcm",
                "Oneof field 'target' is already set. Cannot set '{second}'",
                {"second": targets[1]},
            )
        return self

    @model_validator(mode="after")
    def _data_to_apple_at_priority_5(self) -> Message:
        """ "When sending data messages to Apple devices, the priority must be set to 5 ... Messages
        sent with high priority are rejected ... INVALID_ARGUMENT" (FCM, "Set the priority of a
        message"). A data message has no notification, and no alert of its own for iOS."""
        if self.notification is not None or self.apns is None:
            return self
        aps = (self.apns.payload or {}).get("aps") or {}
        headers = self.apns.headers or {}
        if "alert" not in aps and headers.get("apns-priority") == "10":
            raise PydanticCustomError(
                "fcm",
                "apns-priority must be 5 for a data message to Apple devices, not 10",
                {"field": "message.apns.headers.apns-priority"},
            )
        return self


class SendRequest(_Proto):
    message: Message
    validate_only: bool = False


def violations(body: Any) -> list[tuple[str, str]]:
    """Every field of a send request FCM refuses, with its message; empty when it is accepted."""
    if not isinstance(body, dict):
        return [("(request)", "Invalid JSON payload received. Expected an object.")]
    try:
        SendRequest.model_validate(body)
    except ValidationError as exc:
        return [_violation(item) for item in exc.errors(include_url=False)]
    return []


def _violation(item: Any) -> tuple[str, str]:
    location = [str(part) for part in item["loc"]]
    kind = item["type"]
    if kind == "extra_forbidden":
        parent = ".".join(location[:-1]) or "(request)"
        return parent, (
            f'Invalid JSON payload received. Unknown name "{location[-1]}" at '
            f"'{parent}': Cannot find field."
        )
    field = ".".join(location) or "(request)"
    if kind == "fcm":
        # A rule of the whole message may name the field it is about (``field`` in its context).
        return str(item.get("ctx", {}).get("field", field)), str(item["msg"])
    return field, f"Invalid value at '{field}': {item['msg']}"
