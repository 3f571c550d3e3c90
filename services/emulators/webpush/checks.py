"""What a push service checks on each message: VAPID (RFC 8292), the RFC 8030 headers (the rules
in ``shared.platforms.webpush.rules``, which ingest applies too), and that the body decrypts
(RFC 8291). Each failure carries the status a push service answers with."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import http_ece
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from services.emulators.verified import VerifiedTokens
from services.emulators.webpush.keys import SubscriptionKeys, unb64url
from shared.platforms.webpush.rules import header_problem

MAX_BODY_BYTES = 4096
MAX_VAPID_LIFETIME_SECONDS = 24 * 3600
CLOCK_SKEW_SECONDS = 60
SUBJECT = re.compile(r"^(mailto:.+@.+|https://.+)$")


class PushRefused(Exception):
    """A reply other than 201 Created, with the reason in its body."""

    def __init__(self, status: int, reason: str, *, retry_after: str | None = None) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class Vapid:
    """A checked VAPID token: its claims and the application server key that signed it."""

    claims: dict[str, Any]
    public_key: str


def check_vapid(
    authorization: str | None,
    audience: str,
    now: float,
    verified: VerifiedTokens[dict[str, Any]] | None = None,
) -> Vapid:
    """RFC 8292: ``vapid t=<jwt>, k=<key>``, ES256 by k, aud = origin, exp within 24 h, sub.

    ``verified`` keeps the claims of signatures already checked (the times are checked anew).
    """
    if not authorization:
        raise PushRefused(401, "missing Authorization: vapid t=..., k=...")
    scheme, _, rest = authorization.partition(" ")
    params = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part.strip())
    if scheme.lower() != "vapid" or "t" not in params or "k" not in params:
        raise PushRefused(401, "the Authorization scheme is vapid with t= and k= parameters")
    seen = f"{audience} {params['k']} {params['t']}"
    claims = verified.get(seen) if verified is not None else None
    if claims is None:
        claims = _signed_claims(params["t"], params["k"], audience)
        if verified is not None:
            verified.add(seen, claims)
    if not isinstance(claims["exp"], int) or claims["exp"] < now - CLOCK_SKEW_SECONDS:
        raise PushRefused(403, "VAPID token expired")
    if claims["exp"] - now > MAX_VAPID_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS:
        raise PushRefused(403, "VAPID token expires more than 24 hours from now")
    if not isinstance(claims["sub"], str) or not SUBJECT.match(claims["sub"]):
        raise PushRefused(403, "VAPID sub must be a mailto: or https: contact")
    return Vapid(claims, params["k"])


def _signed_claims(token: str, key: str, audience: str) -> dict[str, Any]:
    try:
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
        claims: dict[str, Any] = jwt.decode(
            token,
            public,
            algorithms=["ES256"],
            audience=audience,
            options={"require": ["aud", "exp", "sub"], "verify_exp": False},
        )
    except (ValueError, jwt.InvalidTokenError) as exc:
        raise PushRefused(403, f"VAPID token refused: {exc}") from None
    return claims


def check_headers(headers: Mapping[str, str]) -> None:
    """RFC 8030: TTL is required; Urgency and Topic when present; RFC 8291: aes128gcm."""
    problem = header_problem(headers)
    if problem is not None:
        raise PushRefused(400, problem[1])
    if headers.get("content-encoding") != "aes128gcm":
        raise PushRefused(400, "Content-Encoding must be aes128gcm (RFC 8291)")


def decrypt(body: bytes, keys: SubscriptionKeys) -> bytes:
    """The plaintext of an aes128gcm body for the subscription's keys."""
    if len(body) > MAX_BODY_BYTES:
        raise PushRefused(413, f"payload of {len(body)} bytes is over {MAX_BODY_BYTES}")
    try:
        return bytes(
            http_ece.decrypt(
                body,
                private_key=keys.private_key,
                auth_secret=keys.auth_secret,
                version="aes128gcm",
            )
        )
    except (http_ece.ECEException, ValueError) as exc:
        raise PushRefused(400, f"the payload does not decrypt: {exc}") from None
