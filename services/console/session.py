"""The signed-in session: the app key sealed (encrypted and authenticated) in a cookie, and the
CSRF token every form post must echo. The browser holds the cookie but cannot read or forge it.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import BaseModel, ValidationError

COOKIE = "herald_console"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class Session(BaseModel):
    """Who is signed in: the app key, its app (None when the key cannot read the admin API) and
    the CSRF token of this sign-in."""

    api_key: str
    app_id: str | None
    csrf: str


def new_session(api_key: str, app_id: str | None) -> Session:
    return Session(api_key=api_key, app_id=app_id, csrf=secrets.token_urlsafe(32))


class SessionBox:
    """Seals sessions into cookie values and opens them; a cookie older than ``max_age`` seconds,
    tampered with, or sealed by an unknown key opens to None."""

    def __init__(self, keys: Sequence[str], max_age: float) -> None:
        keys = list(keys) or [Fernet.generate_key().decode()]
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        self._max_age = int(max_age)

    def seal(self, session: Session) -> str:
        return self._fernet.encrypt(session.model_dump_json().encode()).decode()

    def open(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        try:
            raw = self._fernet.decrypt(cookie.encode(), ttl=self._max_age)
            return Session.model_validate_json(raw)
        except (InvalidToken, ValidationError):
            return None


def csrf_matches(session: Session, presented: str | None) -> bool:
    """True when a post carries this session's CSRF token (compared in constant time)."""
    return presented is not None and hmac.compare_digest(session.csrf, presented)


def plausible_key(key: str) -> bool:
    """Herald's keys are printable ASCII without spaces: anything else cannot travel in a header,
    so sign-in refuses it before a request could fail on it, or quote it back."""
    return 0 < len(key) <= 512 and key.isascii() and key.isprintable() and " " not in key
