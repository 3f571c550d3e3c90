"""What an operator may ask of apps: the shape of an app id, a key's scopes, a webhook. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import get_args

from pydantic import TypeAdapter, ValidationError

from contracts.apps import DEFAULT_WEBHOOK_STAGES, SCOPES, Scope
from contracts.content import HttpsUrl
from contracts.trace import Stage
from shared.platforms.endpoints import IpNetwork, webhook_url_problem

_APP_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class AdminError(ValueError):
    """An operation that cannot be done as asked; the message says why."""


class AdminNotFound(AdminError):
    """The app, or the key, category or webhook of it, does not exist."""


class AdminConflict(AdminError):
    """The app exists already."""


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


_URL: TypeAdapter[HttpsUrl] = TypeAdapter(HttpsUrl)
STAGES: tuple[Stage, ...] = get_args(Stage)


def checked_webhook_url(url: str, allowed: Iterable[IpNetwork] = ()) -> str:
    """The URL as Herald will call it; AdminError when it is not https or could reach Herald's
    own network (loopback, private, link-local... unless ``allowed`` names the network)."""
    try:
        parsed = _URL.validate_python(url)
    except ValidationError as error:
        problems = "; ".join(item["msg"] for item in error.errors(include_url=False))
        raise AdminError(f"url: {problems}") from None
    problem = webhook_url_problem(parsed, allowed)
    if problem is not None:
        raise AdminError(f"url: {problem}")
    return str(parsed)


def chosen_stages(stages: Sequence[str] | None) -> list[Stage]:
    """The trace stages asked for, in the trace's order; the outcomes when none are named."""
    if stages is None:
        return list(DEFAULT_WEBHOOK_STAGES)
    unknown = sorted(set(stages) - set(STAGES))
    if unknown or not stages:
        raise AdminError(f"stages: choose from {', '.join(STAGES)} (got {', '.join(unknown)})")
    return [stage for stage in STAGES if stage in stages]
