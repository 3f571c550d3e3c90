"""A user's delivery preferences (time zone, quiet hours, opt-outs), owned by the registry.

The registry publishes the whole current state on every change, so a service that needs them
(the scheduler) keeps its own copy without reading the registry's tables.
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import time
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from contracts.base import InternalEvent, Model, UserId
from contracts.categories import CategoryId
from contracts.platforms import Platform


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _known_zone(name: str) -> str:
    if name not in _zone_names():
        raise ValueError(f"{name!r} is not an IANA time zone name (such as Europe/Paris)")
    return name


TimeZoneName = Annotated[
    str,
    AfterValidator(_known_zone),
    Field(description="An IANA time zone name such as Europe/Paris or America/New_York."),
]


class QuietHours(Model):
    """A daily window, in the user's time zone, when pushes that are not urgent wait.

    ``start`` is inside the window and ``end`` is not; a window whose end is earlier than its start
    crosses midnight (22:00 to 07:00).
    """

    start: time = Field(description="Local time the window opens, such as 22:00.")
    end: time = Field(description="Local time the window closes, such as 07:00.")

    @model_validator(mode="after")
    def _a_real_window(self) -> QuietHours:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("quiet hours are local wall-clock times, without a UTC offset")
        if self.start == self.end:
            raise ValueError("start and end are equal: the window would be empty")
        return self


class UserPreferences(InternalEvent):
    """The current preferences of one user; a newer ``revision`` replaces an older one."""

    type: Literal["user.preferences"] = "user.preferences"
    version: Literal[1] = 1
    user_id: UserId
    revision: int = Field(ge=1, description="Grows with every change of this user's preferences.")
    time_zone: TimeZoneName | None = None
    quiet_hours: QuietHours | None = None
    categories: dict[CategoryId, bool] = Field(
        default_factory=dict,
        description="The user's choice per category (false: opted out); absent categories follow "
        "their default.",
    )
    channels: dict[Platform, bool] = Field(
        default_factory=dict,
        description="false: no pushes to the user's devices of that platform; absent: allowed.",
    )
