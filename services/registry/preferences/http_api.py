"""The preferences API: a user's time zone, locale, quiet hours and opt-outs, published for the
scheduler (all but the locale, which only the registry's fan-out reads).

A change is stored and published inside one transaction, and the answer comes only once the
broker has the event: a failed call changed nothing the caller needs to know about, so retrying it
is safe. Annotations stay evaluated (no ``from __future__ import annotations``) for FastAPI.
"""

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from contracts import topics
from contracts.base import AddressableUserId, PublicRequest
from contracts.categories import CategoryId
from contracts.content import LocaleTag
from contracts.platforms import Platform
from contracts.users import QuietHours, TimeZoneName
from services.registry.preferences.domain import StoredPreferences, preferences_event
from services.registry.preferences.store import Choices, PreferenceStore
from shared.clock import Clock
from shared.db import transaction
from shared.http import require_user
from shared.kafka import Bus
from shared.tenancy.callers import Caller


class PreferencesBody(PublicRequest):
    """A user's preferences; every call replaces them whole (absent fields become unset)."""

    time_zone: TimeZoneName | None = None
    locale: LocaleTag | None = Field(
        default=None,
        description="The user's language (fr, pt-BR): a device that reports no locale, or one no "
        "localized variant fits, gets the variant for it before the default text.",
    )
    quiet_hours: QuietHours | None = Field(
        default=None,
        description="Pushes that are not urgent wait until the window ends (in time_zone).",
    )

    categories: dict[CategoryId, bool] = Field(
        default_factory=dict,
        description="Per category of the app: false opts out, true opts in (for categories off "
        "by default); absent categories follow their default.",
    )
    channels: dict[Platform, bool] = Field(
        default_factory=dict,
        description="Per platform (apns, fcm, webpush): false sends nothing to the user's "
        "devices of that platform. Transactional pushes ignore both choices.",
    )

    @field_validator("quiet_hours")
    @classmethod
    def _needs_a_zone(cls, quiet: QuietHours | None, info: ValidationInfo) -> QuietHours | None:
        if quiet is not None and "time_zone" in info.data and info.data["time_zone"] is None:
            raise ValueError("quiet hours need a time_zone to say whose night they are")
        return quiet


class PreferencesRecord(BaseModel):
    """A user's preferences as stored; revision 0 means the user never set any."""

    user_id: str
    time_zone: str | None
    locale: str | None = None
    quiet_hours: QuietHours | None
    categories: dict[str, bool] = Field(default_factory=dict)
    channels: dict[Platform, bool] = Field(default_factory=dict)
    revision: int
    updated_at: datetime | None

    @classmethod
    def of(cls, stored: StoredPreferences) -> "PreferencesRecord":
        return cls(
            user_id=stored.user_id,
            time_zone=stored.time_zone,
            locale=stored.locale,
            quiet_hours=stored.quiet_hours,
            categories=dict(stored.categories),
            channels=dict(stored.channels),
            revision=stored.revision,
            updated_at=stored.updated_at,
        )


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or unknown API key or user token."},
    404: {"description": "A user token asked about another user."},
    422: {"description": "An unknown time zone, an empty window, or quiet hours without a zone."},
}


def add_preference_routes(
    app: FastAPI, store: PreferenceStore, bus: Bus, clock: Clock, authenticated_caller: Any
) -> None:
    """Mount the preferences API on ``app``: the app's server key may set any of its users'
    preferences, a user token only its own user's."""
    caller = Depends(authenticated_caller)

    @app.put(
        "/v1/users/{user_id:path}/preferences",
        response_model=PreferencesRecord,
        responses=_ERRORS,
        tags=["users"],
        summary="Set a user's time zone, locale, quiet hours and opt-outs",
    )
    async def put_preferences(
        user_id: AddressableUserId, body: PreferencesBody, who: Annotated[Caller, caller]
    ) -> PreferencesRecord:
        """Local-time sends use the time zone; quiet hours defer pushes that are not urgent.
        Held notifications of the user are re-planned. Category and platform opt-outs, and the
        locale, apply to pushes released from then on."""
        require_user(who, user_id)
        app_id = who.app_id
        now = clock.now()
        async with transaction(store.pool) as conn:
            stored = await store.replace(
                conn,
                app_id,
                user_id,
                body.time_zone,
                body.quiet_hours,
                Choices(body.categories, body.channels, body.locale),
                now,
            )
            await bus.publish(topics.PREFERENCES, preferences_event(stored, now))
        return PreferencesRecord.of(stored)

    @app.get(
        "/v1/users/{user_id:path}/preferences",
        response_model=PreferencesRecord,
        responses=_ERRORS,
        tags=["users"],
        summary="Read a user's time zone, locale, quiet hours and opt-outs",
    )
    async def get_preferences(
        user_id: AddressableUserId, who: Annotated[Caller, caller]
    ) -> PreferencesRecord:
        require_user(who, user_id)
        stored = await store.get(who.app_id, user_id)
        if stored is None:
            return PreferencesRecord(
                user_id=user_id, time_zone=None, quiet_hours=None, revision=0, updated_at=None
            )
        return PreferencesRecord.of(stored)
