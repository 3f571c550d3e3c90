"""What a notification says and how it should be delivered, shared by every stage that carries it.

Field limits live here so the HTTP API, the Kafka intake and the JSON Schema all refuse the same
input with the same message.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AnyUrl,
    Field,
    JsonValue,
    StringConstraints,
    UrlConstraints,
    field_validator,
    model_validator,
)

from contracts.audiences import Audience
from contracts.base import HeaderSafeText, Model, PublicRequest
from contracts.categories import CategoryId
from contracts.locales import lookup, normalise
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
Title = Annotated[str, StringConstraints(max_length=256)]
Body = Annotated[str, StringConstraints(max_length=2048)]
DeepLink = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
LocaleTag = Annotated[
    str,
    StringConstraints(min_length=2, max_length=35),
    AfterValidator(normalise),
    Field(description="A BCP 47 language tag such as fr or pt-BR, normalised (pt_br: pt-BR)."),
]
#: The most variants one notification carries: every variant travels with each user's copy of
#: the notification up to fan-out, so this bounds those messages (32 x ~4 KB).
MAX_LOCALIZED = 32
#: The fewest action buttons a platform shows (Android's notification templates show three;
#: iOS shows up to four, browsers report theirs in Notification.maxActions).
MAX_ACTIONS = 3


ActionId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
]
ActionTitle = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def _empty(value: object) -> bool:
    """Fields added after requests were first fingerprinted are left out when unused, so a
    request recorded before them keeps its idempotency fingerprint (services/ingest/domain.py)."""
    return not value


class LocalizedText(Model):
    """One locale's text. It replaces the default title, body and subtitle together, so a
    notification never mixes languages: what it leaves out is absent, not the default's. Its
    button titles, when it gives any, name every button, for the same reason."""

    title: Title | None = None
    body: Body | None = None
    subtitle: Title | None = None
    action_titles: Annotated[dict[ActionId, ActionTitle], Field(max_length=MAX_ACTIONS)] = Field(
        default_factory=dict,
        description="The title of each of content.actions in this locale, by action id (all of "
        "them, or none: without it the buttons keep their default titles).",
        exclude_if=_empty,
    )

    @model_validator(mode="after")
    def _shows_something(self) -> LocalizedText:
        if not (self.title or self.body):
            raise ValueError("a localized variant needs a title or a body")
        return self


class Action(Model):
    """A button under the notification. iOS shows buttons only from the category the app
    registered (``content.category``) and matches them by ``id``; Web Push shows them as sent."""

    id: ActionId = Field(description="What the app is told was tapped: letters, digits and '_.:-'.")
    title: ActionTitle
    deep_link: DeepLink | None = Field(
        default=None, description="Where the app (or service worker) goes when it is tapped."
    )
    icon_url: HttpsUrl | None = Field(
        default=None, description="Web Push only: an image shown on the button."
    )


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

    title: Title | None = None
    body: Body | None = None
    data: Annotated[dict[DataKey, DataValue], Field(max_length=64)] = Field(default_factory=dict)
    image_url: HttpsUrl | None = None
    sound: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    deep_link: DeepLink | None = None
    thread_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    category: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    subtitle: Title | None = None
    title_loc_key: LocKey | None = None
    title_loc_args: LocArgs = Field(default_factory=list)
    body_loc_key: LocKey | None = None
    body_loc_args: LocArgs = Field(default_factory=list)
    interruption_level: Literal["passive", "active", "time-sensitive", "critical"] | None = Field(
        default=None, description="How urgently iOS presents the alert (APNs interruption-level)."
    )
    overrides: PlatformOverrides | None = None
    localized: Annotated[dict[LocaleTag, LocalizedText], Field(max_length=MAX_LOCALIZED)] = Field(
        default_factory=dict,
        description="Per-locale title, body and subtitle. A device gets the variant of its "
        "locale, else of its language (pt-BR, then pt), else of its user's locale, else the "
        "default fields.",
        exclude_if=_empty,
    )
    actions: Annotated[list[Action], Field(max_length=MAX_ACTIONS)] = Field(
        default_factory=list,
        description="Buttons under a visible notification; needs category (the APNs category "
        "the app registered with these action ids).",
        exclude_if=_empty,
    )

    @field_validator("localized", mode="before")
    @classmethod
    def _one_variant_per_locale(cls, localized: object) -> object:
        if isinstance(localized, dict) and len(localized) > 1:
            seen: dict[str, str] = {}
            for key in localized:
                try:
                    tag = normalise(key) if isinstance(key, str) else None
                except ValueError:
                    continue  # the key's own validation names it
                if tag is not None and tag in seen:
                    raise ValueError(f"{seen[tag]!r} and {key!r} are both the locale {tag}")
                if tag is not None:
                    seen[tag] = key
        return localized

    @field_validator("actions")
    @classmethod
    def _unique_action_ids(cls, actions: list[Action]) -> list[Action]:
        if len(actions) < 2:
            return actions
        ids = [action.id for action in actions]
        twice = sorted({item for item in ids if ids.count(item) > 1})
        if twice:
            raise ValueError(f"action ids must differ; repeated: {', '.join(twice)}")
        return actions

    @model_validator(mode="after")
    def _variants_and_actions_on_visible_pushes(self) -> Content:
        if not (self.localized or self.actions):
            return self
        if not self.visible:
            raise ValueError(
                "localized and actions need a visible notification: a default title or body "
                "(or a localization key) for devices no variant fits"
            )
        if self.actions and self.category is None:
            raise ValueError(
                "actions need category: iOS shows buttons only from the notification category "
                "the app registered (UNNotificationCategory) under that identifier"
            )
        ids: set[str] | None = None
        for tag, text in self.localized.items():
            if not text.action_titles:
                continue
            if ids is None:
                ids = {action.id for action in self.actions}
            named = text.action_titles.keys()
            if named != ids:
                missing, unknown = sorted(ids - named), sorted(named - ids)
                raise ValueError(
                    f"localized.{tag}.action_titles must name every button of actions, and only "
                    f"those (missing: {', '.join(missing) or 'none'}; not in actions: "
                    f"{', '.join(unknown) or 'none'}), so one notification shows one language"
                )
        return self

    @field_validator("data")
    @classmethod
    def _no_reserved_keys(cls, data: dict[str, str]) -> dict[str, str]:
        if not data:
            return data
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

    def variant_for(self, *locales: str | None) -> str | None:
        """The tag of the variant for the first of ``locales`` one fits (a device's locale, then
        its user's), by language-tag lookup; None: the default text (at once when there are no
        variants, as for most notifications: this runs for every device at fan-out)."""
        if not self.localized:
            return None
        return lookup(self.localized, *locales)

    def in_locale(self, tag: str | None) -> Content:
        """The content as a device of locale variant ``tag`` gets it: that variant's text (and
        button titles, when it has them) in place of the default's, and no variants (None: the
        default text)."""
        if not self.localized:
            return self
        if tag is None:
            return self.model_copy(update={"localized": {}})
        text = self.localized[tag]
        update: dict[str, object] = {
            "title": text.title,
            "body": text.body,
            "subtitle": text.subtitle,
            "localized": {},
        }
        if text.action_titles:
            update["actions"] = [
                action.model_copy(update={"title": text.action_titles.get(action.id, action.title)})
                for action in self.actions
            ]
        return self.model_copy(update=update)


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
