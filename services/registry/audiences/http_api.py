"""The topics and tags API: devices and users subscribe to topics; the app tags its users and
devices.

A device's topics may be changed by the app's server (API key with the ``devices`` scope) or by
the signed-in user whose device it is (user token); a user's topics by the server or that user.
Tags are the app's own data about its users and devices, which segments select on: only the
app's server sets or reads them. Annotations stay evaluated (no ``from __future__ import
annotations``) for FastAPI.
"""

import uuid
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field

from contracts.audiences import TagKey, TagValue, TopicName
from contracts.base import AddressableUserId, PublicRequest
from services.registry.audiences.domain import LimitReached, merged_tags
from services.registry.audiences.store import AudienceStore
from services.registry.devices.store import DeviceStore
from shared.clock import Clock
from shared.http import ApiError, require_user
from shared.tenancy.callers import Caller

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or unknown API key or user token."},
    403: {"description": "The API key lacks the devices scope, or a user token sets tags."},
    404: {"description": "No such device for you, or a user token names another user."},
    422: {"description": "A field breaks a limit; the message names the field and the limit."},
}

TopicNames = Annotated[list[TopicName], Field(max_length=1000)]


class TopicChange(PublicRequest):
    """Topics to subscribe the device to and to unsubscribe it from (either may be empty)."""

    subscribe: TopicNames = Field(default_factory=list)
    unsubscribe: TopicNames = Field(default_factory=list)


class DeviceTopics(BaseModel):
    device_id: uuid.UUID
    topics: list[str]


class UserTopics(BaseModel):
    user_id: str
    topics: list[str]


class TagChange(PublicRequest):
    """Tags to set (a value) or remove (null); tags not named stay as they are."""

    tags: Annotated[dict[TagKey, TagValue | None], Field(min_length=1, max_length=100)]


class TagRecord(BaseModel):
    tags: dict[str, str]


def _too_many(reached: LimitReached) -> ApiError:
    return ApiError(422, "limit_reached", f"{reached.field}: {reached}", field=reached.field)


def add_audience_routes(
    app: FastAPI,
    store: AudienceStore,
    devices: DeviceStore,
    clock: Clock,
    authorized: Any,
    *,
    max_topics: int,
    max_user_topics: int,
    max_tags: int,
) -> None:
    """Mount the topics and tags API on ``app``; ``authorized`` is the devices scope."""
    who = Depends(authorized)

    async def device_of(caller: Caller, device_id: uuid.UUID) -> uuid.UUID:
        """The caller's device (its user's, for a user token); 404 otherwise."""
        device = await devices.get(caller.app_id, device_id)
        if device is None or caller.user_id not in (None, device.user_id):
            raise ApiError(404, "not_found", f"no device {device_id}", field="device_id")
        return device.device_id

    def server_only(caller: Caller) -> None:
        if caller.user_id is not None:
            raise ApiError(
                403,
                "forbidden",
                "tags are the app's data: its server sets them with its API key",
            )

    @app.post(
        "/v1/devices/{device_id}/topics",
        response_model=DeviceTopics,
        responses=_ERRORS,
        tags=["topics"],
        summary="Subscribe a device to topics, or unsubscribe it",
    )
    async def change_topics(
        device_id: uuid.UUID, body: TopicChange, caller: Annotated[Caller, who]
    ) -> DeviceTopics:
        """Subscribing again, or unsubscribing from a topic not subscribed, changes nothing."""
        found = await device_of(caller, device_id)
        try:
            topics = await store.change_topics(
                found, body.subscribe, body.unsubscribe, clock.now(), limit=max_topics
            )
        except LimitReached as reached:
            raise _too_many(reached) from None
        return DeviceTopics(device_id=found, topics=topics)

    @app.get(
        "/v1/devices/{device_id}/topics",
        response_model=DeviceTopics,
        responses=_ERRORS,
        tags=["topics"],
        summary="List a device's topics",
    )
    async def list_topics(device_id: uuid.UUID, caller: Annotated[Caller, who]) -> DeviceTopics:
        found = await device_of(caller, device_id)
        return DeviceTopics(device_id=found, topics=await store.topics_of(found))

    @app.post(
        "/v1/users/{user_id:path}/topics",
        response_model=UserTopics,
        responses=_ERRORS,
        tags=["topics"],
        summary="Subscribe a user (every active device of theirs) to topics, or unsubscribe them",
    )
    async def change_user_topics(
        user_id: AddressableUserId, body: TopicChange, caller: Annotated[Caller, who]
    ) -> UserTopics:
        """A topic send then reaches each active device of the user, those registered later
        too, and each device once even when it is subscribed itself as well."""
        require_user(caller, user_id)
        try:
            topics = await store.change_user_topics(
                caller.app_id,
                user_id,
                body.subscribe,
                body.unsubscribe,
                clock.now(),
                limit=max_user_topics,
            )
        except LimitReached as reached:
            raise _too_many(reached) from None
        return UserTopics(user_id=user_id, topics=topics)

    @app.get(
        "/v1/users/{user_id:path}/topics",
        response_model=UserTopics,
        responses=_ERRORS,
        tags=["topics"],
        summary="List a user's topics (not those of their devices)",
    )
    async def list_user_topics(
        user_id: AddressableUserId, caller: Annotated[Caller, who]
    ) -> UserTopics:
        require_user(caller, user_id)
        return UserTopics(user_id=user_id, topics=await store.user_topics(caller.app_id, user_id))

    @app.patch(
        "/v1/devices/{device_id}/tags",
        response_model=TagRecord,
        responses=_ERRORS,
        tags=["tags"],
        summary="Set or remove tags of a device",
    )
    async def change_device_tags(
        device_id: uuid.UUID, body: TagChange, caller: Annotated[Caller, who]
    ) -> TagRecord:
        server_only(caller)
        found = await device_of(caller, device_id)
        try:
            tags = await store.change_device_tags(
                found,
                lambda current: merged_tags(current, body.tags, max_tags, "device"),
                clock.now(),
            )
        except LimitReached as reached:
            raise _too_many(reached) from None
        return TagRecord(tags=tags)

    @app.get(
        "/v1/devices/{device_id}/tags",
        response_model=TagRecord,
        responses=_ERRORS,
        tags=["tags"],
        summary="Read a device's tags",
    )
    async def read_device_tags(device_id: uuid.UUID, caller: Annotated[Caller, who]) -> TagRecord:
        server_only(caller)
        return TagRecord(tags=await store.device_tags(await device_of(caller, device_id)))

    @app.patch(
        "/v1/users/{user_id:path}/tags",
        response_model=TagRecord,
        responses=_ERRORS,
        tags=["tags"],
        summary="Set or remove tags of a user",
    )
    async def change_user_tags(
        user_id: AddressableUserId, body: TagChange, caller: Annotated[Caller, who]
    ) -> TagRecord:
        server_only(caller)
        try:
            tags = await store.change_user_tags(
                caller.app_id,
                user_id,
                lambda current: merged_tags(current, body.tags, max_tags, "user"),
                clock.now(),
            )
        except LimitReached as reached:
            raise _too_many(reached) from None
        return TagRecord(tags=tags)

    @app.get(
        "/v1/users/{user_id:path}/tags",
        response_model=TagRecord,
        responses=_ERRORS,
        tags=["tags"],
        summary="Read a user's tags",
    )
    async def read_user_tags(
        user_id: AddressableUserId, caller: Annotated[Caller, who]
    ) -> TagRecord:
        server_only(caller)
        return TagRecord(tags=await store.user_tags(caller.app_id, user_id))
