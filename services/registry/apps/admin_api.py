"""The admin API: apps, their server keys, signing keys and intake keys over HTTP, for the
``herald`` command and the console. Every change goes through AppAdmin, so it is stored and
announced on ``apps.changed`` before the answer; a key or secret is in the answer that creates it
and never again.

Annotations stay evaluated (no ``from __future__ import annotations``) for FastAPI.
"""

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Response
from pydantic import BaseModel, Field

from contracts.apps import Scope
from contracts.base import AppId, PrintableText, PublicRequest
from services.registry.apps.admin import AppAdmin
from services.registry.apps.admin_auth import ADMIN_ERRORS, AdminAccess, Administrator
from services.registry.apps.domain import AdminConflict, AdminError, AdminNotFound
from services.registry.apps.store import AppInfo, KeyInfo
from shared.http import ApiError

PREFIX = "/v1/admin/apps"


class App(BaseModel):
    app_id: str
    name: str
    disabled: bool
    created_at: datetime


class AppList(BaseModel):
    apps: list[App]


class NewApp(PublicRequest):
    app_id: AppId
    name: PrintableText = Field(default="", max_length=200)


class Key(BaseModel):
    key_id: uuid.UUID
    label: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class KeyList(BaseModel):
    keys: list[Key]


class NewKey(PublicRequest):
    scopes: list[Scope] = Field(min_length=1, description="What the key may do.")
    label: PrintableText = Field(
        default="", max_length=100, description="Whose key it is, for people."
    )


class CreatedKey(BaseModel):
    key_id: uuid.UUID
    key: str = Field(description="The key itself, shown this once: Herald keeps only its digest.")
    scopes: list[str]
    label: str
    created_at: datetime


class CreatedSecret(BaseModel):
    key_id: uuid.UUID
    secret: str = Field(description="Shown this once; Herald keeps it sealed.")


def refusal(error: AdminError) -> ApiError:
    """The HTTP answer to what AppAdmin refused."""
    if isinstance(error, AdminNotFound):
        return ApiError(404, "not_found", str(error))
    if isinstance(error, AdminConflict):
        return ApiError(409, "conflict", str(error), field="app_id")
    field = str(error).split(":", 1)[0].replace(" ", "_")
    return ApiError(422, "invalid_request", str(error), field=field)


def _app(info: AppInfo) -> App:
    return App(
        app_id=info.app_id, name=info.name, disabled=info.disabled, created_at=info.created_at
    )


def _key(info: KeyInfo) -> Key:
    return Key(
        key_id=info.key_id,
        label=info.label,
        scopes=info.scopes,
        created_at=info.created_at,
        revoked_at=info.revoked_at,
    )


def add_admin_routes(app: FastAPI, admin: AppAdmin, access: AdminAccess) -> None:
    """Mount the apps and keys of the admin API on ``app``."""
    administrator, managed = Depends(access.administrator), Depends(access.managed_app)
    operator = [Depends(access.operator)]
    tags: list[str | Enum] = ["admin"]

    @app.get(
        PREFIX,
        response_model=AppList,
        responses=ADMIN_ERRORS,
        tags=tags,
        summary="List the apps (an app's key sees its own)",
    )
    async def list_apps(who: Annotated[Administrator, administrator]) -> AppList:
        return AppList(apps=[_app(info) for info in await admin.apps(who.app_id)])

    @app.post(
        PREFIX,
        status_code=201,
        response_model=App,
        responses={**ADMIN_ERRORS, 409: {"description": "An app with this id exists."}},
        tags=tags,
        dependencies=operator,
        summary="Create an app (operators)",
    )
    async def create_app(body: NewApp) -> App:
        try:
            await admin.create_app(body.app_id, body.name)
        except AdminError as error:
            raise refusal(error) from None
        return _app((await admin.apps(body.app_id))[0])

    async def set_disabled(app_id: str, disabled: bool) -> Response:
        try:
            await admin.set_disabled(app_id, disabled)
        except AdminError as error:
            raise refusal(error) from None
        return Response(status_code=204)

    @app.post(
        PREFIX + "/{app_id}/disable",
        status_code=204,
        responses=ADMIN_ERRORS,
        tags=tags,
        dependencies=operator,
        summary="Disable an app (operators): its keys and tokens stop working, its data stays",
    )
    async def disable_app(app_id: str) -> Response:
        return await set_disabled(app_id, True)

    @app.post(
        PREFIX + "/{app_id}/enable",
        status_code=204,
        responses=ADMIN_ERRORS,
        tags=tags,
        dependencies=operator,
        summary="Enable a disabled app again (operators)",
    )
    async def enable_app(app_id: str) -> Response:
        return await set_disabled(app_id, False)

    @app.get(
        PREFIX + "/{app_id}/keys",
        response_model=KeyList,
        responses=ADMIN_ERRORS,
        tags=tags,
        summary="List the app's server keys (never the keys themselves)",
    )
    async def list_keys(app_id: Annotated[str, managed]) -> KeyList:
        try:
            return KeyList(keys=[_key(info) for info in await admin.keys(app_id)])
        except AdminError as error:
            raise refusal(error) from None

    @app.post(
        PREFIX + "/{app_id}/keys",
        status_code=201,
        response_model=CreatedKey,
        responses=ADMIN_ERRORS,
        tags=tags,
        summary="Issue a server key (shown once)",
    )
    async def create_key(app_id: Annotated[str, managed], body: NewKey) -> CreatedKey:
        try:
            info, key = await admin.create_key(app_id, body.scopes, body.label)
        except AdminError as error:
            raise refusal(error) from None
        return CreatedKey(
            key_id=info.key_id,
            key=key,
            scopes=info.scopes,
            label=info.label,
            created_at=info.created_at,
        )

    @app.delete(
        PREFIX + "/{app_id}/keys/{key_id}",
        status_code=204,
        responses=ADMIN_ERRORS,
        tags=tags,
        summary="Revoke a server key at once",
    )
    async def revoke_key(app_id: Annotated[str, managed], key_id: uuid.UUID) -> Response:
        try:
            await admin.revoke_key(app_id, key_id)
        except AdminError as error:
            raise refusal(error) from None
        return Response(status_code=204)

    signing = (admin.create_signing_key, admin.revoke_signing_key)
    intake = (admin.create_intake_key, admin.revoke_intake_key)
    for kind, (create, revoke), signs in (
        ("signing-keys", signing, "user tokens"),
        ("intake-keys", intake, "Kafka records"),
    ):
        _add_secret_routes(app, managed, kind, create, revoke, signs)


def _add_secret_routes(
    app: FastAPI,
    managed: Any,
    kind: str,
    create: Callable[[str], Awaitable[tuple[uuid.UUID, str]]],
    revoke: Callable[[str, uuid.UUID], Awaitable[None]],
    signs: str,
) -> None:
    """Issue and revoke one kind of signing secret (signing keys, intake keys)."""
    name = kind.replace("-", "_")

    async def create_secret(app_id: Annotated[str, managed]) -> CreatedSecret:
        try:
            key_id, secret = await create(app_id)
        except AdminError as error:
            raise refusal(error) from None
        return CreatedSecret(key_id=key_id, secret=secret)

    async def revoke_secret(app_id: Annotated[str, managed], key_id: uuid.UUID) -> Response:
        try:
            await revoke(app_id, key_id)
        except AdminError as error:
            raise refusal(error) from None
        return Response(status_code=204)

    app.post(
        f"{PREFIX}/{{app_id}}/{kind}",
        status_code=201,
        response_model=CreatedSecret,
        responses=ADMIN_ERRORS,
        tags=["admin"],
        summary=f"Issue a key that signs {signs} (its secret shown once)",
        name=f"create_{name}",
    )(create_secret)
    app.delete(
        f"{PREFIX}/{{app_id}}/{kind}/{{key_id}}",
        status_code=204,
        responses=ADMIN_ERRORS,
        tags=["admin"],
        summary=f"Revoke a key that signs {signs}",
        name=f"revoke_{name}",
    )(revoke_secret)
