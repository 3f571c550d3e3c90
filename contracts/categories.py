"""Notification categories: the kinds of notification an app sends, which users opt out of.

An app defines its categories (the registry keeps them in the app's state on ``apps.changed``);
a request names one, and ingest copies the category's rules onto every user's copy so the
scheduler applies them without reading the app's configuration itself.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from contracts.base import Model

CategoryId = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$"),
    Field(
        description="An app's name for a category: lower-case letters, digits, '_', '.', '-'; "
        "at most 64 characters, such as marketing or order.updates."
    ),
]

#: The longest rolling window of a frequency cap: 31 days.
MAX_CAP_WINDOW_SECONDS = 31 * 24 * 3600


class FrequencyCap(Model):
    """At most ``limit`` pushes of the category per user in any ``window_seconds``."""

    limit: int = Field(ge=1, le=10_000, description="Pushes a user may get in one window.")
    window_seconds: int = Field(
        ge=60, le=MAX_CAP_WINDOW_SECONDS, description="The rolling window, 1 minute to 31 days."
    )


class CategoryRules(Model):
    """What the scheduler needs to know of a category: whether users are in by default, the cap."""

    default_enabled: bool = Field(
        default=True,
        description="True: users get it until they opt out; False: only users who opted in.",
    )
    cap: FrequencyCap | None = None


class Category(CategoryRules):
    """One category of an app."""

    category_id: CategoryId
    name: Annotated[str, StringConstraints(max_length=200)] = ""
