"""The device API: register a token, unregister it (logout), and look devices up.

Callers are the app's server (API key with the ``devices`` scope, acting for any of its users) or a
signed-in user's device (user token, acting only for that user). The app always comes from the
credential; a device of another app, or of another user for a user token, does not exist here.
Annotations stay evaluated (no ``from __future__ import annotations``): FastAPI reads the routes'
parameter types at definition time, and the auth dependency is a local of ``add_routes``.
"""

import logging
import uuid
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Response

from contracts import topics
from contracts.base import AddressableUserId
from services.registry.devices.domain import UNREGISTERED, Device, DeviceCapReached
from services.registry.devices.http_models import (
    DeviceList,
    DeviceRecord,
    DeviceRegistration,
    RegisteredDevice,
)
from services.registry.devices.store import DeviceStore
from services.registry.preferences.domain import preferences_event
from services.registry.preferences.store import PreferenceStore
from shared.clock import Clock
from shared.db import transaction
from shared.http import ApiError, require_user
from shared.kafka import Publisher
from shared.logs import token_ref
from shared.tenancy.callers import Caller

log = logging.getLogger(__name__)

_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or unknown API key or user token."},
    403: {"description": "The API key lacks the devices scope."},
    429: {"description": "Too many requests with this credential; see Retry-After."},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such device for you."}}
_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "A field breaks a limit; the message names the field and the limit."}
}
_TAKEN: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "Another user holds this token (see the ownership rule), or the user has "
        "as many active devices as one user may have."
    }
}


def _not_found(device_id: uuid.UUID) -> ApiError:
    return ApiError(404, "not_found", f"no device {device_id}", field="device_id")


def _visible(device: Device | None, caller: Caller) -> Device | None:
    """The device if this caller may see it: its app's server, or the user who holds it."""
    if device is None or (caller.user_id is not None and device.user_id != caller.user_id):
        return None
    return device


def add_routes(
    app: FastAPI,
    store: DeviceStore,
    clock: Clock,
    authorized: Any,
    preferences: PreferenceStore,
    bus: Publisher,
    *,
    max_devices: int,
) -> None:
    """Mount the device API on ``app``; ``authorized`` resolves and checks the caller; a user may
    have ``max_devices`` active devices at most."""
    who = Depends(authorized)

    async def adopt_zone(app_id: str, user_id: str, time_zone: str) -> None:
        """A user who never stated a time zone gets their device's (local-time sends use it)."""
        now = clock.now()
        async with transaction(preferences.pool) as conn:
            changed = await preferences.adopt_device_zone(conn, app_id, user_id, time_zone, now)
            if changed is not None:
                await bus.publish_all([(topics.PREFERENCES, preferences_event(changed, now))])

    @app.post(
        "/v1/devices",
        status_code=201,
        response_model=RegisteredDevice,
        responses={200: {"description": "The token was registered before; updated."}}
        | _UNAUTHORIZED
        | _INVALID
        | _TAKEN,
        tags=["devices"],
        summary="Register a device token for a user",
    )
    async def register_device(
        body: DeviceRegistration, response: Response, caller: Annotated[Caller, who]
    ) -> RegisteredDevice:
        """Register or refresh a token; its latest user owns it and it is active again.

        A token another user holds moves only on the app server's word (API key), with the
        ``device_secret`` issued to the device that holds it, or once that device logged out.
        """
        require_user(caller, body.user_id)
        try:
            registered = await store.register(
                body.for_app(caller.app_id),
                clock.now(),
                by_server=caller.user_id is None,
                presented_secret=body.device_secret,
                max_devices=max_devices,
            )
        except DeviceCapReached as reached:
            raise ApiError(409, "too_many_devices", str(reached), field="user_id") from None
        device = registered.device
        if registered.refused:
            log.warning(
                "refused to move %s of app %s from user %s to %s (no proof)",
                token_ref(device.token),
                caller.app_id,
                device.user_id,
                body.user_id,
            )
            raise ApiError(
                409,
                "token_taken",
                "another user holds this token: the app's server (API key) can move it, or the "
                "device can with the device_secret it was given when it registered",
                field="token",
            )
        if body.time_zone is not None:
            await adopt_zone(caller.app_id, body.user_id, body.time_zone)
        if registered.created:
            log.info(
                "device %s (%s) registered for user %s of app %s",
                device.device_id,
                token_ref(device.token),
                device.user_id,
                caller.app_id,
            )
        else:
            response.status_code = 200
            if registered.previous_user_id not in (None, device.user_id):
                log.info(
                    "device %s (%s) of app %s moved from user %s to user %s",
                    device.device_id,
                    token_ref(device.token),
                    caller.app_id,
                    registered.previous_user_id,
                    device.user_id,
                )
        return RegisteredDevice(
            **DeviceRecord.of(device).model_dump(), device_secret=registered.device_secret
        )

    @app.get(
        "/v1/devices/{device_id}",
        response_model=DeviceRecord,
        responses=_UNAUTHORIZED | _NOT_FOUND,
        tags=["devices"],
        summary="Read a device",
    )
    async def get_device(device_id: uuid.UUID, caller: Annotated[Caller, who]) -> DeviceRecord:
        device = _visible(await store.get(caller.app_id, device_id), caller)
        if device is None:
            raise _not_found(device_id)
        return DeviceRecord.of(device)

    @app.delete(
        "/v1/devices/{device_id}",
        status_code=204,
        responses=_UNAUTHORIZED | _NOT_FOUND,
        tags=["devices"],
        summary="Unregister a device (logout): it receives nothing more",
    )
    async def unregister_device(device_id: uuid.UUID, caller: Annotated[Caller, who]) -> Response:
        """Deactivate the device; its token is then free for anyone to register."""
        if _visible(await store.get(caller.app_id, device_id), caller) is None:
            raise _not_found(device_id)
        await store.unregister(caller.app_id, device_id, UNREGISTERED, clock.now())
        log.info("device %s of app %s unregistered", device_id, caller.app_id)
        return Response(status_code=204)

    @app.get(
        "/v1/users/{user_id:path}/devices",
        response_model=DeviceList,
        responses=_UNAUTHORIZED | _INVALID,
        tags=["devices"],
        summary="List a user's devices",
    )
    async def list_user_devices(
        user_id: AddressableUserId, caller: Annotated[Caller, who], include_inactive: bool = False
    ) -> DeviceList:
        """The user's active devices, or all of them with ``include_inactive=true``."""
        require_user(caller, user_id)
        devices = await store.of_user(caller.app_id, user_id, include_inactive=include_inactive)
        return DeviceList(devices=[DeviceRecord.of(device) for device in devices])
