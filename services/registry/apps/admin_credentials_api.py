"""The admin API's provider credentials: stored (replacing) per platform, checked by the same
parsers a dispatcher connects with, and listed by their public settings only: a secret sent here
is never sent back.

Annotations stay evaluated (no ``from __future__ import annotations``) for FastAPI.
"""

import json
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Response
from pydantic import BaseModel, Field

from contracts.base import PublicRequest
from services.registry.apps.admin import AppAdmin
from services.registry.apps.admin_api import PREFIX, refusal
from services.registry.apps.admin_auth import ADMIN_ERRORS, AdminAccess
from services.registry.apps.domain import AdminError
from shared.http import ApiError
from shared.platforms.apns.credentials import certificate_credential, token_credential
from shared.platforms.base import CredentialsError, StoredCredential
from shared.platforms.fcm.credentials import service_account_credential
from shared.platforms.webpush.credentials import vapid_credential

#: What each parser's message starts with, and the body field it is about.
_FIELDS = {
    "key file": "private_key_pem",
    "key id": "key_id",
    "team id": "team_id",
    "topic": "topic",
    "environment": "environment",
    "certificate file": "certificate_pem",
    "service account": "service_account",
    "VAPID key file": "private_key_pem",
    "subject": "subject",
}

Pem = Annotated[str, Field(min_length=1, max_length=20_000, description="PEM text.")]


class ApnsToken(PublicRequest):
    """Token auth: the team's .p8 signing key."""

    kind: Literal["token"]
    team_id: str = Field(max_length=10)
    key_id: str = Field(max_length=10)
    topic: str = Field(max_length=155, description="The app's bundle id.")
    environment: str = Field(default="production", description="production or sandbox.")
    private_key_pem: Pem


class ApnsCertificate(PublicRequest):
    """Certificate auth: the client certificate and its key (in one PEM, or the key apart)."""

    kind: Literal["certificate"]
    certificate_pem: Pem
    private_key_pem: Pem | None = None
    topic: str = Field(max_length=155, description="The app's bundle id.")
    environment: str = Field(default="production", description="production or sandbox.")


ApnsBody = Annotated[ApnsToken | ApnsCertificate, Field(discriminator="kind")]


class FcmBody(PublicRequest):
    service_account: dict[str, Any] = Field(description="The service account's JSON key file.")


class WebPushBody(PublicRequest):
    subject: str = Field(max_length=500, description="A mailto: or https: contact.")
    private_key_pem: Pem = Field(description="The VAPID key: EC P-256, PEM.")


class Credential(BaseModel):
    platform: str
    kind: str
    set_at: datetime
    summary: dict[str, str] = Field(description="Public settings only; never a secret.")


class CredentialList(BaseModel):
    credentials: list[Credential]


def field_of(error: CredentialsError) -> str | None:
    """The body field a parser's message is about."""
    return _FIELDS.get(str(error).split(":", 1)[0])


def apns_credential(body: ApnsToken | ApnsCertificate) -> StoredCredential:
    if isinstance(body, ApnsToken):
        return token_credential(
            body.private_key_pem.encode(),
            key_id=body.key_id,
            team_id=body.team_id,
            topic=body.topic,
            environment=body.environment,
        )
    pem = body.certificate_pem + "\n" + (body.private_key_pem or "")
    return certificate_credential(pem.encode(), topic=body.topic, environment=body.environment)


def add_credential_routes(
    app: FastAPI, admin: AppAdmin, access: AdminAccess, fcm_token_uris: Collection[str]
) -> None:
    """Mount the credentials of the admin API; a service account may name only one of
    ``fcm_token_uris`` as its token endpoint (Google's, or the operator's HERALD_FCM_TOKEN_URI)."""
    managed = Depends(access.managed_app)
    tags: list[Any] = ["admin"]

    async def store(app_id: str, build: Callable[[], StoredCredential]) -> Response:
        try:
            credential = build()
        except CredentialsError as error:
            raise ApiError(422, "invalid_credentials", str(error), field=field_of(error)) from None
        try:
            await admin.set_credential(app_id, credential)
        except AdminError as error:
            raise refusal(error) from None
        return Response(status_code=204)

    @app.get(
        PREFIX + "/{app_id}/credentials",
        response_model=CredentialList,
        responses=ADMIN_ERRORS,
        tags=tags,
        summary="List the app's provider credentials (public settings only)",
    )
    async def list_credentials(app_id: Annotated[str, managed]) -> CredentialList:
        try:
            found = await admin.credentials(app_id)
        except AdminError as error:
            raise refusal(error) from None
        return CredentialList(
            credentials=[
                Credential(
                    platform=info.platform, kind=info.kind, set_at=info.set_at, summary=summary
                )
                for info, summary in found
            ]
        )

    @app.put(
        PREFIX + "/{app_id}/credentials/apns",
        status_code=204,
        responses=ADMIN_ERRORS,
        tags=tags,
        summary="Store the app's APNs credentials (token or certificate auth)",
    )
    async def put_apns(app_id: Annotated[str, managed], body: ApnsBody) -> Response:
        return await store(app_id, lambda: apns_credential(body))

    @app.put(
        PREFIX + "/{app_id}/credentials/fcm",
        status_code=204,
        responses=ADMIN_ERRORS,
        tags=tags,
        summary="Store the app's FCM service account",
    )
    async def put_fcm(app_id: Annotated[str, managed], body: FcmBody) -> Response:
        document = json.dumps(body.service_account).encode()
        return await store(
            app_id, lambda: service_account_credential(document, token_uris=fcm_token_uris)
        )

    @app.put(
        PREFIX + "/{app_id}/credentials/webpush",
        status_code=204,
        responses=ADMIN_ERRORS,
        tags=tags,
        summary="Store the app's VAPID key for Web Push",
    )
    async def put_webpush(app_id: Annotated[str, managed], body: WebPushBody) -> Response:
        return await store(
            app_id,
            lambda: vapid_credential(body.private_key_pem.encode(), subject=body.subject),
        )
