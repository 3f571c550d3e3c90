"""Herald's own keys in what a device receives, the same on every platform.

An app reads these to badge, deep-link, and remove delivered notifications after a read elsewhere.
APNs and Web Push carry native JSON values; FCM's data map takes strings only (``as_strings``).
"""

from __future__ import annotations

from typing import Any

from contracts.content import Content
from contracts.push import PushRequest
from shared.platforms.base import compact

KIND_KEY = "herald_kind"
NOTIFICATION_ID_KEY = "herald_notification_id"
BADGE_KEY = "herald_badge"
BADGE_SEQ_KEY = "herald_badge_seq"
DEEP_LINK_KEY = "herald_deep_link"
IMAGE_KEY = "herald_image_url"
READ_IDS_KEY = "herald_read_ids"
READ_UP_TO_KEY = "herald_read_up_to"
ALL_READ_KEY = "herald_all_read"
LOCALIZATION_KEY = "herald_localization"
ACTIONS_KEY = "herald_actions"


def tag(request: PushRequest) -> str:
    """What a visible notification is tagged with on the device so a later push can replace it or
    a sync push can close it: the collapse key, or else the notification id."""
    return request.options.collapse_key or str(request.notification_id)


def herald_fields(request: PushRequest) -> dict[str, Any]:
    """Herald's keys for ``request``: a notification's ids and badge, or a sync push's reads."""
    sync = request.sync
    if sync is not None:
        fields: dict[str, Any] = {
            KIND_KEY: "sync",
            NOTIFICATION_ID_KEY: str(request.notification_id),
            BADGE_KEY: sync.badge,
            BADGE_SEQ_KEY: sync.badge_seq,
            READ_IDS_KEY: [str(item) for item in sync.read_notification_ids],
            ALL_READ_KEY: sync.all_read,
        }
        if sync.read_up_to is not None:
            fields[READ_UP_TO_KEY] = sync.read_up_to.isoformat()
        return fields
    fields = {KIND_KEY: "notification", NOTIFICATION_ID_KEY: str(request.notification_id)}
    if request.badge is not None:
        fields[BADGE_KEY] = request.badge
    if request.badge_seq is not None:
        fields[BADGE_SEQ_KEY] = request.badge_seq
    if request.content.deep_link is not None:
        fields[DEEP_LINK_KEY] = request.content.deep_link
    if request.content.image_url is not None:
        fields[IMAGE_KEY] = str(request.content.image_url)
    return fields


def as_strings(fields: dict[str, Any]) -> dict[str, str]:
    """The same fields as strings: lists comma-separated, booleans ``true``/``false``."""
    values: dict[str, str] = {}
    for key, value in fields.items():
        if isinstance(value, bool):
            values[key] = "true" if value else "false"
        elif isinstance(value, list):
            values[key] = ",".join(str(item) for item in value)
        else:
            values[key] = str(value)
    return values


def browser_text(content: Content) -> tuple[str, str | None]:
    """The title and body a browser shows, which always has a title line.

    Browsers have no string tables of the app and show an empty line for a missing title, so the
    title falls back, in order, to the body (then not repeated below it: a one-line notification
    reads as its title), the title localization key, the body localization key. The keys reach the
    service worker too (``localization``), so one that holds translations can look them up.
    """
    if content.title:
        return content.title, content.body
    if content.body:
        return content.body, None
    if content.title_loc_key:
        return content.title_loc_key, content.body_loc_key
    return content.body_loc_key or "", None


def localization(content: Content) -> dict[str, Any] | None:
    """The content's localization keys and arguments, for a service worker that translates."""
    values: dict[str, Any] = {
        "title_loc_key": content.title_loc_key,
        "title_loc_args": content.title_loc_args or None,
        "body_loc_key": content.body_loc_key,
        "body_loc_args": content.body_loc_args or None,
    }
    present = {key: value for key, value in values.items() if value is not None}
    return present or None


def badge_of(request: PushRequest) -> int | None:
    """The badge the device should show: a sync push's, else the notification's."""
    return request.sync.badge if request.sync is not None else request.badge


def actions(content: Content) -> list[dict[str, str]] | None:
    """The content's buttons as the app reads them (``id``, ``title``, and ``deep_link`` and
    ``icon_url`` when set), to handle a tap on one; None without buttons."""
    if not content.actions:
        return None
    return [
        compact(
            {
                "id": action.id,
                "title": action.title,
                "deep_link": action.deep_link,
                "icon_url": None if action.icon_url is None else str(action.icon_url),
            }
        )
        for action in content.actions
    ]


def notification_actions(content: Content) -> list[dict[str, str]] | None:
    """The buttons as the Notifications API takes them (NotificationAction: ``action``,
    ``title``, optional ``icon``), for a service worker's showNotification; None without any."""
    if not content.actions:
        return None
    return [
        compact(
            {
                "action": action.id,
                "title": action.title,
                "icon": None if action.icon_url is None else str(action.icon_url),
            }
        )
        for action in content.actions
    ]
