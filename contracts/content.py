"""What a notification says and how it should be delivered, shared by every stage that carries it.

Field limits live here so the HTTP API, the Kafka intake and the JSON Schema all refuse the same
input with the same message.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AnyUrl,
    Field,
    JsonValue,
    StringConstraints,
    UrlConstraints,
    field_validator,
)

from contracts.audiences import Audience
from contracts.base import HeaderSafeText, Model, PublicRequest
from contracts.categories import CategoryId
from contracts.schedule import Schedule

DataKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
DataValue = Annotated[str, StringConstraints(max_length=1024)]
HttpsUrl = Annotated[AnyUrl, UrlConstraints(max_length=2048, allowed_schemes=["https"])]

#: Keys FCM reserves in its data map; Herald refuses them for every platform so one event renders
#: the same everywhere.
RESERVED_DATA_KEYS = frozenset({"from", "notification", "message_type"})
RESERVED_DATA_PREFIXES = ("google", "gcm", "herald")


LocKey = Annotated[str, StringConstraints(min_length=1, max_length=128)]
LocArgs = Annotated[list[Annotated[str, StringConstraints(max_length=256)]], Field(max_length=16)]
HeaderValue = Annotated[str, StringConstraints(max_length=256, pattern=r"^[\x20-\x7e]*$")]
JsonObject = dict[str, JsonValue]


class ApnsOverride(Model):
    """Extra APNs headers and payload keys, as in FCM v1's ApnsConfig (merged over Herald's)."""

    headers: Annotated[dict[str, HeaderValue], Field(max_length=16)] = Field(default_factory=dict)
    payload: JsonObject = Field(default_factory=dict)


class WebpushOverride(Model):
    """Extra Web Push headers (TTL, Urgency, Topic) and notification options, as in FCM v1."""

    headers: Annotated[dict[str, HeaderValue], Field(max_length=16)] = Field(default_factory=dict)
    notification: JsonObject = Field(default_factory=dict)


class PlatformOverrides(Model):
    """Per-platform blocks merged over what Herald renders, shaped as FCM HTTP v1 shapes them.

    ``android`` is an AndroidConfig object; ``apns`` and ``webpush`` carry headers and payload.
    """

    android: JsonObject | None = None
    apns: ApnsOverride | None = None
    webpush: WebpushOverride | None = None


class Content(Model):
    """What the user sees (title, body...) and what the app receives (data).

    A notification with neither title nor body (nor their localization keys) is a silent data push.
    """

    title: Annotated[str, StringConstraints(max_length=256)] | None = None
    body: Annotated[str, StringConstraints(max_length=2048)] | None = None
    data: Annotated[dict[DataKey, DataValue], Field(max_length=64)] = Field(default_factory=dict)
    image_url: HttpsUrl | None = None
    sound: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    deep_link: Annotated[str, StringConstraints(min_length=1, max_length=2048)] | None = None
    thread_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    category: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    subtitle: Annotated[str, StringConstraints(max_length=256)] | None = None
    title_loc_key: LocKey | None = None
    title_loc_args: LocArgs = Field(default_factory=list)
    body_loc_key: LocKey | None = None
    body_loc_args: LocArgs = Field(default_factory=list)
    interruption_level: Literal["passive", "active", "time-sensitive", "critical"] | None = Field(
        default=None, description="How urgently iOS presents the alert (APNs interruption-level)."
    )
    overrides: PlatformOverrides | None = None

    @field_validator("data")
    @classmethod
    def _no_reserved_keys(cls, data: dict[str, str]) -> dict[str, str]:
        for key in data:
            if key in RESERVED_DATA_KEYS or key.lower().startswith(RESERVED_DATA_PREFIXES):
                reserved = ", ".join(sorted(RESERVED_DATA_KEYS))
                prefixes = ", ".join(RESERVED_DATA_PREFIXES)
                raise ValueError(
                    f"data key {key!r} is reserved (reserved keys: {reserved}; "
                    f"reserved prefixes: {prefixes})"
                )
        return data

    @property
    def visible(self) -> bool:
        """True when the push shows something to the user (and so counts toward the badge)."""
        return bool(self.title or self.body or self.title_loc_key or self.body_loc_key)


BadgeRule = (
    Literal["auto", "increment", "leave"] | Annotated[int, Field(strict=True, ge=0, le=99_999)]
)


class DeliveryOptions(Model):
    """How providers should treat the push."""

    priority: Literal["high", "normal"] = "high"
    ttl_seconds: Annotated[int, Field(ge=0, le=2_419_200)] | None = Field(
        default=None,
        description="How long a provider may keep trying; at most 28 days. None: provider default.",
    )
    collapse_key: (
        Annotated[HeaderSafeText, StringConstraints(min_length=1, max_length=64)] | None
    ) = Field(
        default=None,
        description="A newer push with the same key replaces an older one. Printable characters "
        "only (it travels in headers); at most 64 bytes in UTF-8 (APNs' apns-collapse-id).",
    )
    badge: BadgeRule = Field(
        default="auto",
        description="auto: visible pushes add one unread, silent ones leave the badge; "
        "increment: always add one; leave: do not touch it; a number: set the badge to it.",
    )


class NotificationRequest(PublicRequest):
    """What a sender asks for, over HTTP or inside a submitted event."""

    idempotency_key: Annotated[
        str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")
    ] = Field(description="Resending with the same key never sends twice (printable ASCII).")
    audience: Audience
    content: Content
    options: DeliveryOptions = Field(default_factory=DeliveryOptions)
    schedule: Schedule | None = Field(
        default=None,
        description="When to send; absent: now. Users' quiet hours apply unless it is urgent.",
    )
    category: CategoryId | None = Field(
        default=None,
        description="The app's notification category (herald categories): users who opted out of "
        "it do not get it, and its frequency cap applies. Not content.category, which is the "
        "APNs action category.",
    )
    transactional: bool = Field(
        default=False,
        description="A receipt, a security alert: sent despite opt-outs and frequency caps "
        "(quiet hours still apply unless the schedule is urgent).",
    )
