"""What an operator may ask of apps: the shape of an app id and a key's scopes. Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence

from contracts.apps import SCOPES, Scope

_APP_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class AdminError(ValueError):
    """An operation that cannot be done as asked; the message says why."""


def check_app_id(app_id: str) -> None:
    """Raise AdminError unless ``app_id`` can name an app."""
    if not _APP_ID.match(app_id):
        raise AdminError(
            "app id: lower-case letters, digits, '-' and '_', starting with a letter or digit,"
            " at most 63 characters"
        )


def chosen_scopes(scopes: Sequence[str]) -> list[Scope]:
    """The scopes asked for, in catalogue order; AdminError when none or an unknown one is asked."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise AdminError(f"scopes: choose from {', '.join(SCOPES)} (got {', '.join(unknown)})")
    return [s for s in SCOPES if s in scopes]
