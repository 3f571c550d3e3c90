"""Herald's own keys in what a device receives, the same on every platform.

An app reads these to badge, deep-link, and remove delivered notifications after a read elsewhere.
APNs and Web Push carry native JSON values; FCM's data map takes strings only (``as_strings``).
"""

from __future__ import annotations

from typing import Any

from contracts.push import PushRequest

KIND_KEY = "herald_kind"
NOTIFICATION_ID_KEY = "herald_notification_id"
BADGE_KEY = "herald_badge"
BADGE_SEQ_KEY = "herald_badge_seq"
DEEP_LINK_KEY = "herald_deep_link"
IMAGE_KEY = "herald_image_url"
READ_IDS_KEY = "herald_read_ids"
READ_UP_TO_KEY = "herald_read_up_to"
ALL_READ_KEY = "herald_all_read"


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


def badge_of(request: PushRequest) -> int | None:
    """The badge the device should show: a sync push's, else the notification's."""
    return request.sync.badge if request.sync is not None else request.badge
