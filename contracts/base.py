"""Common shape of every event: who it belongs to, when it happened, and how to dedupe it.

Where input comes from decides what an unknown field means, and the two bases below say it once.
A PublicRequest (an HTTP body, an event on an intake topic) refuses unknown fields at every depth,
so a misspelt name is an error rather than a request that quietly does something else. An
InternalMessage, which only Herald's own services produce, ignores them at every depth, so a
producer may add an optional field before its consumers are upgraded (rolling deploys).
"""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
from typing import Annotated, Any, Self

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import ExtraValues

#: Namespace for ids derived from other ids: the same inputs always give the same event id, so a
#: re-run of a step after a crash produces duplicates that downstream dedupe recognises.
HERALD_NAMESPACE = uuid.UUID("6f1d9a52-3c1e-4b7a-9f0e-2d8c5b4a7e10")

AppId = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$"),
    Field(
        description="The tenant: lower-case letters, digits, '-' and '_', at most 63 characters."
    ),
]
UserId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[^\s\x00-\x1f]+$"),
    Field(description="The app's own id for a user: 1-128 characters, no whitespace."),
]


def unprintable(value: str) -> str | None:
    """The first character of ``value`` that is not printable, described, or None.

    Unprintable are controls (CR, LF, DEL, C1...), format characters (zero-width and bidi marks,
    which make two different ids look alike or reorder what logs show), surrogates, private-use
    and unassigned code points, and separators other than the space.
    """
    if value.isprintable():  # one pass in C; the loop below only names the culprit
        return None
    for char in value:
        if not char.isprintable():
            category = unicodedata.category(char)
            name = unicodedata.name(char, "a control character" if category == "Cc" else "")
            return f"U+{ord(char):04X} ({name or 'unnamed'}, Unicode category {category})"
    return None


def _printable(value: str) -> str:
    found = unprintable(value)
    if found is not None:
        raise ValueError(f"contains {found}: only printable characters are allowed")
    return value


#: A user id as an app gives it (HTTP bodies and paths, the intake topic): also printable.
#: Events keep ``UserId``, so ids stored before this rule still travel.
PrintableUserId = Annotated[
    UserId,
    AfterValidator(_printable),
    Field(
        description="The app's own id for a user: 1-128 printable characters, no whitespace, "
        "control, format (zero-width, bidi) or separator characters."
    ),
]
#: Path segments that URL parsers remove or resolve (browsers even when percent-encoded).
DOT_SEGMENTS = frozenset({".", ".."})


def _addressable(value: str) -> str:
    if value in DOT_SEGMENTS:
        raise ValueError(
            f"{value!r} cannot be a user id: URL parsers (browsers, proxies, most HTTP clients) "
            "resolve a '.' or '..' path segment away, so /v1/users/{user_id}/... cannot reach it"
        )
    return value


#: A user id the HTTP API names (a registration, a ``/v1/users/{user_id}/...`` path): also not
#: ``.`` or ``..``. Audiences keep ``PrintableUserId``: they travel inside events, and a user
#: registered before this rule still gets what is sent to them.
AddressableUserId = Annotated[
    PrintableUserId,
    AfterValidator(_addressable),
    Field(
        description="The app's own id for a user: 1-128 printable characters, no whitespace, "
        "control, format (zero-width, bidi) or separator characters, and not '.' or '..'. "
        "In a URL path, percent-encode it ('/' as %2F)."
    ),
]
#: Text that becomes an HTTP header somewhere on its way (a collapse key): no control characters.
HeaderSafeText = Annotated[str, AfterValidator(_printable)]
#: Names and labels people read: printable, so they store (PostgreSQL refuses NUL) and show as
#: typed.
PrintableText = Annotated[str, AfterValidator(_printable)]


_NAMESPACE_BYTES = HERALD_NAMESPACE.bytes
#: What uuid5 does to the first 128 bits of its SHA-1: version 5, and the RFC 4122 variant.
_UUID5_CLEARED_BITS = ~((0xF000 << 64) | (0xC000 << 48))
_UUID5_SET_BITS = (5 << 76) | (0x8000 << 48)


def derived_id(*parts: object) -> uuid.UUID:
    """A stable id for an event derived from others (one per notification x user, x device...).

    It is ``uuid.uuid5(HERALD_NAMESPACE, "/".join(parts))``, computed with the namespace's bytes
    read once and the version bits set on an int, which costs a third less per event.
    """
    name = "/".join(str(p) for p in parts).encode()
    digest = hashlib.sha1(_NAMESPACE_BYTES + name, usedforsecurity=False).digest()
    return uuid.UUID(int=(int.from_bytes(digest[:16]) & _UUID5_CLEARED_BITS) | _UUID5_SET_BITS)


class Model(BaseModel):
    """A value inside a message or request: frozen, and refusing fields it does not know unless
    the message it travels in is an InternalMessage.

    Validators are built on a model's first use, not at import: a service decodes a few of the
    catalog's models, and building every one held ~1.5 MB of each idle process.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class PublicRequest(Model):
    """What comes from outside Herald: refuses unknown fields, in nested values too.

    Built at import, unlike other models: FastAPI builds its body validators when a route is
    added and silences a pydantic warning only then, so one built at the first request warns.
    NotificationSubmitted lists Event after this class, so it takes Event's deferred build: it
    arrives on the intake topic, never as a FastAPI body.
    """

    model_config = ConfigDict(extra="forbid", defer_build=False)


class InternalMessage(Model):
    """A message only Herald's services produce: decoding ignores unknown fields at every depth.

    The values it carries (content, options...) refuse unknown fields when a sender sends them;
    inside an internal message they come from a newer release of Herald, which may know more.
    A class's ``extra`` setting governs that class alone, so validating one passes
    ``extra="ignore"``, which pydantic applies to every value nested in it.

    Both call the compiled validator as pydantic's own methods do, without their Python layer
    (a twentieth of decoding a counted notification, on every hop); the one combination pydantic
    refuses before validating (``by_alias=False`` without ``by_name=True``) goes to pydantic.
    """

    model_config = ConfigDict(extra="ignore")

    @classmethod
    def model_validate_json(
        cls,
        json_data: str | bytes | bytearray,
        *,
        strict: bool | None = None,
        extra: ExtraValues | None = "ignore",
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> Self:
        if by_alias is False and by_name is not True:
            return super().model_validate_json(
                json_data,
                strict=strict,
                extra=extra,
                context=context,
                by_alias=by_alias,
                by_name=by_name,
            )
        validated: Self = cls.__pydantic_validator__.validate_json(
            json_data,
            strict=strict,
            extra=extra,
            context=context,
            by_alias=by_alias,
            by_name=by_name,
        )
        return validated

    @classmethod
    def model_validate(
        cls,
        obj: Any,
        *,
        strict: bool | None = None,
        extra: ExtraValues | None = "ignore",
        from_attributes: bool | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> Self:
        if by_alias is False and by_name is not True:
            return super().model_validate(
                obj,
                strict=strict,
                extra=extra,
                from_attributes=from_attributes,
                context=context,
                by_alias=by_alias,
                by_name=by_name,
            )
        validated: Self = cls.__pydantic_validator__.validate_python(
            obj,
            strict=strict,
            extra=extra,
            from_attributes=from_attributes,
            context=context,
            by_alias=by_alias,
            by_name=by_name,
        )
        return validated


class Event(Model):
    """The envelope of every message on a Herald topic.

    Subclasses pin ``type`` and ``version`` with literals; ``event_id`` is the dedupe key;
    ``occurred_at`` is when the producer created the event. A message type derives from
    InternalEvent, or from Event and PublicRequest when senders publish it.
    """

    type: str
    version: int
    event_id: uuid.UUID
    app_id: AppId
    occurred_at: AwareDatetime


class InternalEvent(Event, InternalMessage):
    """An event only Herald's own services publish."""
