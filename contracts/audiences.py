"""Who receives a notification: users by id, or devices the registry finds (by id, by topic or
condition, every device of the app, a segment of them).

One model for HTTP and the Kafka intake, so both refuse the same input with the same words.
User ids expand in ingest; every other kind is streamed by the registry, which owns devices.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, field_validator, model_validator

from contracts import conditions
from contracts.base import Model, PrintableUserId
from contracts.platforms import Platform
from contracts.users import TimeZoneName

TopicName = Annotated[
    str,
    StringConstraints(pattern=conditions.TOPIC_NAME_PATTERN),
    Field(
        description="1 to 900 of the characters a-z, A-Z, 0-9 and '-_.~%' (FCM's rule for topics)."
    ),
]
TagKey = Annotated[
    str,
    StringConstraints(pattern=r"^[a-zA-Z0-9_.:-]{1,64}$"),
    Field(description="1-64 letters, digits and '_.:-'."),
]
TagValue = Annotated[
    str,
    StringConstraints(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$"),
    Field(description="1-256 characters, no control characters."),
]
Tags = Annotated[dict[TagKey, TagValue], Field(min_length=1, max_length=10)]
LocaleTag = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$", max_length=35),
    Field(description="A BCP 47 tag such as pt or pt-BR."),
]
#: Dotted numbers, the only app versions a minimum can be compared with.
DottedVersion = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,9}(\.[0-9]{1,9}){0,3}$"),
    Field(description="Up to four dot-separated numbers, such as 2.10 or 2.10.1."),
]
AppVersion = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[ -~]+$")]


def _condition(text: str) -> str:
    conditions.parse(text)
    return text


def _absent(value: object) -> bool:
    return value is None


def _locale_key(tag: str) -> str:
    return tag.replace("_", "-").lower()


class Segment(Model):
    """Devices whose attributes match every filter given; within a list, any entry matches.

    Device attributes are what the device registered (platform, locale, app version, last
    registration); ``time_zones`` reads the user's stated zone, else the device's; tags are the
    ones the app set on users and devices.
    """

    platforms: Annotated[list[Platform], Field(min_length=1, max_length=3)] | None = None
    locales: Annotated[list[LocaleTag], Field(min_length=1, max_length=50)] | None = Field(
        default=None,
        description="A language (pt) matches each of its regions (pt-BR, pt-PT); a region only "
        "itself. '_' and '-' and letter case do not matter.",
    )
    app_versions: Annotated[list[AppVersion], Field(min_length=1, max_length=50)] | None = Field(
        default=None, description="Exact app versions."
    )
    min_app_version: DottedVersion | None = Field(
        default=None,
        description="Devices whose app version, read as dotted numbers, is at least this "
        "(2.10 is above 2.9); a device whose version is not dotted numbers does not match.",
    )
    time_zones: Annotated[list[TimeZoneName], Field(min_length=1, max_length=50)] | None = None
    last_seen_within_days: Annotated[int, Field(ge=1, le=3650)] | None = Field(
        default=None,
        description="Devices that registered their token (the app's launch) within this many days.",
    )
    user_tags: Tags | None = Field(
        default=None, description="Tags the user must have, each with exactly this value."
    )
    device_tags: Tags | None = Field(
        default=None, description="Tags the device must have, each with exactly this value."
    )

    @field_validator("locales")
    @classmethod
    def _normal_locales(cls, locales: list[str] | None) -> list[str] | None:
        return None if locales is None else list(dict.fromkeys(map(_locale_key, locales)))

    @model_validator(mode="after")
    def _filters_something(self) -> Segment:
        if all(value is None for _, value in self):
            raise ValueError(
                f"a segment needs at least one filter ({', '.join(type(self).model_fields)}); "
                'to reach every device of the app send {"all": true}'
            )
        return self


AUDIENCE_KINDS = ("user_ids", "device_ids", "topic", "condition", "all", "segment")


class Audience(Model):
    """Who receives the notification: exactly one of the kinds below. Only the kind given is
    serialized, so a request by user ids reads (and fingerprints) as it did before the others."""

    user_ids: Annotated[list[PrintableUserId], Field(min_length=1, max_length=1000)] | None = Field(
        default=None,
        description="1 to 1,000 users; each gets it on every active device.",
        exclude_if=_absent,
    )
    device_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=1000)] | None = Field(
        default=None,
        description="1 to 1,000 device ids of the app (as registration answered).",
        exclude_if=_absent,
    )
    topic: TopicName | None = Field(
        default=None,
        description="Every active device subscribed to this topic.",
        exclude_if=_absent,
    )
    condition: (
        Annotated[str, StringConstraints(max_length=4096), AfterValidator(_condition)] | None
    ) = Field(
        default=None,
        description="Devices whose topics satisfy the condition: up to 5 quoted topics joined "
        "with && and ||, grouped with parentheses: \"'sports' && ('goals' || 'scores')\".",
        exclude_if=_absent,
    )
    all: Literal[True] | None = Field(
        default=None, description="Every active device of the app.", exclude_if=_absent
    )
    segment: Segment | None = Field(
        default=None,
        description="Every active device matching the segment's filters.",
        exclude_if=_absent,
    )

    @field_validator("user_ids", "device_ids")
    @classmethod
    def _unique(cls, ids: list[Any] | None) -> list[Any] | None:
        return None if ids is None else list(dict.fromkeys(ids))

    @model_validator(mode="after")
    def _exactly_one(self) -> Audience:
        given = [kind for kind in AUDIENCE_KINDS if getattr(self, kind) is not None]
        if len(given) != 1:
            found = f"got {' and '.join(given)}" if given else "got none"
            raise ValueError(f"give exactly one of {', '.join(AUDIENCE_KINDS)}; {found}")
        return self

    @property
    def kind(self) -> str:
        """Which kind of audience this is."""
        return next(kind for kind in AUDIENCE_KINDS if getattr(self, kind) is not None)

    @property
    def streamed(self) -> bool:
        """True when the registry finds the recipients (every kind but user ids)."""
        return self.user_ids is None
