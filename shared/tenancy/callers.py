"""Who is calling an HTTP API, from the credential they present.

Two kinds of caller: an app's server, with a server API key carrying scopes; and one signed-in user
of an app, with a user token, who may only act for themself. The app always comes from the
credential, never from the request.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.apps import Scope
from shared.tenancy.auth import KEY_PREFIX, UserTokens
from shared.tenancy.directory import AppDirectory


@dataclass(frozen=True)
class Caller:
    """An authenticated caller. ``user_id`` None: the app's server, acting for any of its users."""

    app_id: str
    user_id: str | None
    scopes: frozenset[Scope]
    credential: str

    def may(self, scope: Scope) -> bool:
        """Server keys need the scope (or admin); users act within what the route allows them."""
        return self.user_id is not None or scope in self.scopes or "admin" in self.scopes


class Authenticator:
    """Turns a presented bearer credential into a Caller, or None."""

    def __init__(self, directory: AppDirectory, max_user_token_lifetime_seconds: int) -> None:
        self.directory = directory
        self.tokens = UserTokens(directory.signing_keys, max_user_token_lifetime_seconds)

    def identify(self, presented: str) -> Caller | None:
        if not presented:
            return None
        if presented.startswith(KEY_PREFIX):
            grant = self.directory.grant_for(presented)
            if grant is None:
                return None
            return Caller(grant.app_id, None, grant.scopes, f"key:{grant.key_id}")
        identity = self.tokens.verify(presented)
        if identity is None:
            return None
        return Caller(
            identity.app_id,
            identity.user_id,
            frozenset(),
            f"user:{identity.app_id}:{identity.user_id}",
        )
