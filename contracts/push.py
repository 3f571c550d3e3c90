"""Per-device deliveries handed to a platform's dispatcher, and what came of them."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from contracts.base import InternalEvent, Model, UserId
from contracts.content import Content, DeliveryOptions
from contracts.platforms import PLATFORMS as PLATFORMS
from contracts.platforms import Platform as Platform

#: Apple's two environments; a device token works only in the one that issued it.
ApnsEnvironment = Literal["production", "sandbox"]
APNS_ENVIRONMENTS: tuple[ApnsEnvironment, ...] = ("production", "sandbox")

Outcome = Literal["delivered", "token_invalid", "failed", "expired"]


class BadgeSync(Model):
    """What a quiet sync push tells a device after the user read something elsewhere.

    The app sets its badge (ignoring a ``badge_seq`` older than one it showed) and removes the
    delivered notifications named here, or all up to ``read_up_to``, or all when ``all_read``.

    ``wake_app`` matters to APNs only, where one push cannot do both jobs: False renders a
    badge-only push (apns-push-type alert, ``aps`` holding just ``badge``: never throttled); True
    renders a background push (apns-push-type background, priority 5, ``content-available`` 1 and
    no alert/badge/sound, which Apple forbids there) carrying the read data so the app can remove
    delivered notifications. Apple allows only a few background pushes an hour, so the registry
    budgets them per device. FCM and Web Push sync pushes are always data messages and ignore it.
    """

    badge: int = Field(ge=0)
    badge_seq: int = Field(ge=0)
    read_notification_ids: Annotated[list[uuid.UUID], Field(max_length=100)] = Field(
        default_factory=list
    )
    read_up_to: AwareDatetime | None = None
    all_read: bool = False
    wake_app: bool = False


class PushRequest(InternalEvent):
    """Deliver one notification to one device; keyed by device id so its pushes keep order.

    With ``sync`` set it is a quiet badge-sync push instead (no alert); ``notification_id`` then
    names the badge change that caused it.
    """

    type: Literal["push.request"] = "push.request"
    version: Literal[1] = 1
    notification_id: uuid.UUID
    user_id: UserId
    device_id: uuid.UUID
    platform: Platform
    token: str = Field(min_length=1, max_length=4096)
    content: Content = Field(
        description="What this device shows: the registry puts the variant for the device's "
        "locale in place of the default text and leaves no other variant."
    )
    locale: str | None = Field(
        default=None,
        max_length=35,
        description="The language tag of the localized variant ``content`` holds; None: the "
        "default text.",
    )
    options: DeliveryOptions = Field(default_factory=DeliveryOptions)
    badge: int | None = Field(default=None, ge=0)
    badge_seq: int | None = Field(default=None, ge=0)
    accepted_at: AwareDatetime
    sync: BadgeSync | None = None
    attempt: int = Field(
        default=0, ge=0, description="Provider requests already made for it (a retry carries them)."
    )
    not_before: AwareDatetime | None = Field(
        default=None, description="A retry is not sent before this time (backoff, Retry-After)."
    )
    apns_environment: ApnsEnvironment | None = Field(
        default=None,
        description="APNs only: the environment that issued the device's token (a development "
        "build's is a sandbox one); None: the environment of the app's credentials.",
    )


class PushResult(InternalEvent):
    """The final outcome of one push request, after any retries.

    ``token_invalid`` tells the registry to deactivate the device's token; ``invalid_since`` is the
    provider's own time for that verdict when it gives one (APNs does).
    """

    type: Literal["push.result"] = "push.result"
    version: Literal[1] = 1
    request_event_id: uuid.UUID
    notification_id: uuid.UUID
    user_id: UserId
    device_id: uuid.UUID
    platform: Platform
    token: str
    outcome: Outcome
    reason: str | None = None
    provider_status: int | None = None
    provider_message_id: str | None = None
    invalid_since: AwareDatetime | None = None
    attempts: int = Field(ge=0, description="Requests made; 0 when it expired before the first.")
    accepted_at: AwareDatetime
