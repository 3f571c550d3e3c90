"""The push platforms Herald delivers through: named by deliveries and by users' channel choices."""

from __future__ import annotations

from typing import Literal

Platform = Literal["apns", "fcm", "webpush"]
PLATFORMS: tuple[Platform, ...] = ("apns", "fcm", "webpush")
