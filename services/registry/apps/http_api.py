"""What an app's web pages read about the app itself: the VAPID public key that
``pushManager.subscribe()`` needs, so a subscription is bound to the key Herald signs with.

Annotations stay evaluated (no ``from __future__ import annotations``) for FastAPI.
"""

from typing import Annotated, Any

from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field

from shared.http import ApiError
from shared.platforms.webpush.credentials import application_server_key, parse
from shared.tenancy.callers import Caller
from shared.tenancy.directory import AppDirectory


class VapidPublicKey(BaseModel):
    """The app's VAPID public key, ready for ``applicationServerKey``."""

    public_key: str = Field(
        description="The uncompressed P-256 point, base64url without padding (RFC 8292)."
    )


_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or unknown API key or user token."},
    403: {"description": "The API key lacks the devices scope."},
    404: {"description": "The app has no Web Push credentials in Herald."},
    429: {"description": "Too many requests with this credential; see Retry-After."},
}


def add_app_routes(app: FastAPI, directory: AppDirectory, authorized: Any) -> None:
    """Mount the app's self-description on ``app``; ``authorized`` resolves the caller (a server
    key or a user token: web pages hold the latter)."""
    who = Depends(authorized)

    @app.get(
        "/v1/webpush/vapid-public-key",
        response_model=VapidPublicKey,
        responses=_RESPONSES,
        tags=["apps"],
        summary="Read the app's VAPID public key (applicationServerKey for subscribing)",
    )
    async def vapid_public_key(caller: Annotated[Caller, who]) -> VapidPublicKey:
        credential = directory.credential(caller.app_id, "webpush")
        if credential is None:
            raise ApiError(
                404,
                "no_webpush_credentials",
                f"app {caller.app_id!r} has no Web Push credentials in Herald: an operator stores "
                "its VAPID key with `herald credentials set <app> webpush --vapid-key-file ... "
                "--subject ...`",
            )
        return VapidPublicKey(public_key=application_server_key(parse(credential).key))
