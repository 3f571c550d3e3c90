"""Who may call the admin API: an operator key (every app) or an app's key with the admin scope
(its own app only, as if no other app existed).

Operator keys are set with ``HERALD_OPERATOR_KEYS`` as SHA-256 digests, like ``HERALD_API_KEYS``;
an app's keys come from the directory, through the same check every app-key route makes.
Annotations stay evaluated (no ``from __future__ import annotations``) for FastAPI.
"""

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.http import ApiError
from shared.tenancy.auth import key_digest
from shared.tenancy.callers import Caller

_bearer = HTTPBearer(
    auto_error=False, description="An operator key, or a server API key with the admin scope."
)

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@dataclass(frozen=True)
class Administrator:
    """An admin API caller; ``app_id`` None for an operator, who manages every app."""

    app_id: str | None

    @property
    def is_operator(self) -> bool:
        return self.app_id is None

    def manages(self, app_id: str) -> bool:
        return self.app_id is None or self.app_id == app_id


@dataclass(frozen=True)
class AdminAccess:
    """The FastAPI dependencies of the admin routes."""

    administrator: Callable[..., Awaitable[Administrator]]
    operator: Callable[..., Awaitable[Administrator]]
    managed_app: Callable[..., Awaitable[str]]


def admin_access(
    operator_digests: Collection[str], app_admin: Callable[..., Awaitable[Caller]]
) -> AdminAccess:
    """Dependencies resolving the caller: ``app_admin`` is the app-key check of the admin scope
    (shared.http.authorize), asked only when the key is not an operator's."""
    digests = frozenset(digest.lower() for digest in operator_digests)

    async def administrator(credentials: Credentials) -> Administrator:
        if credentials is not None and key_digest(credentials.credentials) in digests:
            return Administrator(None)
        caller: Caller = await app_admin(credentials)
        return Administrator(caller.app_id)

    async def operator(who: Annotated[Administrator, Depends(administrator)]) -> Administrator:
        if not who.is_operator:
            raise ApiError(403, "forbidden", "only an operator key (HERALD_OPERATOR_KEYS) may")
        return who

    async def managed_app(
        app_id: str, who: Annotated[Administrator, Depends(administrator)]
    ) -> str:
        if not who.manages(app_id):
            raise ApiError(404, "not_found", f"no app {app_id!r}", field="app_id")
        return app_id

    return AdminAccess(administrator, operator, managed_app)


#: The answers every admin route may give besides its own.
ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or unknown key."},
    403: {
        "description": "An app key without the admin scope, a user token, or an app key on "
        "a route for operators."
    },
    404: {"description": "No such app (or not the key's own), key, category or webhook."},
    422: {"description": "A malformed body or credential; the error names the field."},
}
