"""Who may bind a device token that is already bound to another user. Pure.

The rule, as the README states it: a token moves to a new user when the app's server says so (API
key), when the device proves it is itself (the ``device_secret`` it was given at registration),
or when nobody holds it (its device logged out or the provider killed it). A user token alone
cannot take a token from another user: that would let one user redirect another's pushes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import Enum

from services.registry.devices.domain import Device


class Claim(Enum):
    """How a registration relates to the token's current binding."""

    NEW = "new"
    SAME_USER = "same_user"
    TAKE_OVER = "take_over"
    REFUSED = "refused"


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_device_secret() -> str:
    """A secret for the device to keep and present when its token must move."""
    return secrets.token_urlsafe(24)


def claim(
    existing: Device | None,
    user_id: str,
    *,
    by_server: bool,
    presented_secret: str | None,
    stored_digest: str | None,
) -> Claim:
    """Whether registering the token for ``user_id`` may go ahead, and how."""
    if existing is None:
        return Claim.NEW
    if existing.user_id == user_id:
        return Claim.SAME_USER
    if by_server or not existing.active:
        return Claim.TAKE_OVER
    if (
        presented_secret is not None
        and stored_digest is not None
        and hmac.compare_digest(secret_digest(presented_secret), stored_digest)
    ):
        return Claim.TAKE_OVER
    return Claim.REFUSED


def issues_secret(outcome: Claim, stored_digest: str | None) -> bool:
    """A new binding (or one that never had a secret) gets a fresh secret for its device."""
    return outcome in (Claim.NEW, Claim.TAKE_OVER) or stored_digest is None
