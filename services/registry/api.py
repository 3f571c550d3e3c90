"""The device API apps call: register a token, unregister it, and look devices up.

The app is always the one the API key belongs to; a device of another app does not exist here.
Annotations stay evaluated (no ``from __future__ import annotations``): FastAPI reads the routes'
parameter types at definition time, and the auth dependency is a local of ``add_routes``.
"""

import logging
import uuid
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Response

from contracts.base import UserId
from services.registry.api_models import DeviceList, DeviceRecord, DeviceRegistration
from services.registry.domain import UNREGISTERED
from services.registry.store import DeviceStore
from shared.clock import Clock
from shared.http import ApiError
from shared.logs import token_ref

log = logging.getLogger(__name__)

_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or unknown API key."}
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such device in this app."}}
_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "A field breaks a limit; the message names the field and the limit."}
}


def _not_found(device_id: uuid.UUID) -> ApiError:
    return ApiError(404, "not_found", f"no device {device_id} in this app", field="device_id")


def add_routes(app: FastAPI, store: DeviceStore, clock: Clock, authenticated_app: Any) -> None:
    """Mount the device API on ``app``; ``authenticated_app`` resolves a request's app id."""
    caller = Depends(authenticated_app)

    @app.post(
        "/v1/devices",
        status_code=201,
        response_model=DeviceRecord,
        responses={200: {"description": "The token was registered before; updated."}}
        | _UNAUTHORIZED
        | _INVALID,
        tags=["devices"],
        summary="Register a device token for a user",
    )
    async def register_device(
        body: DeviceRegistration, response: Response, app_id: Annotated[str, caller]
    ) -> DeviceRecord:
        """Register or refresh a token. The token's latest user owns it; it is active again."""
        registered = await store.register(body.for_app(app_id), clock.now())
        device = registered.device
        if registered.created:
            log.info(
                "device %s (%s) registered for user %s of app %s",
                device.device_id,
                token_ref(device.token),
                device.user_id,
                app_id,
            )
        else:
            response.status_code = 200
            if registered.previous_user_id not in (None, device.user_id):
                log.info(
                    "device %s (%s) of app %s moved from user %s to user %s",
                    device.device_id,
                    token_ref(device.token),
                    app_id,
                    registered.previous_user_id,
                    device.user_id,
                )
        return DeviceRecord.of(device)

    @app.get(
        "/v1/devices/{device_id}",
        response_model=DeviceRecord,
        responses=_UNAUTHORIZED | _NOT_FOUND,
        tags=["devices"],
        summary="Read a device",
    )
    async def get_device(device_id: uuid.UUID, app_id: Annotated[str, caller]) -> DeviceRecord:
        device = await store.get(app_id, device_id)
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
    async def unregister_device(device_id: uuid.UUID, app_id: Annotated[str, caller]) -> Response:
        """Deactivate the device. Registering its token again brings it back."""
        if not await store.unregister(app_id, device_id, UNREGISTERED, clock.now()):
            raise _not_found(device_id)
        log.info("device %s of app %s unregistered", device_id, app_id)
        return Response(status_code=204)

    @app.get(
        "/v1/users/{user_id}/devices",
        response_model=DeviceList,
        responses=_UNAUTHORIZED | _INVALID,
        tags=["devices"],
        summary="List a user's devices",
    )
    async def list_user_devices(
        user_id: UserId, app_id: Annotated[str, caller], include_inactive: bool = False
    ) -> DeviceList:
        """The user's active devices, or all of them with ``include_inactive=true``."""
        devices = await store.of_user(app_id, user_id, include_inactive=include_inactive)
        return DeviceList(devices=[DeviceRecord.of(device) for device in devices])
