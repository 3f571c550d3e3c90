"""Validation errors as senders read them: each names its field, and an unknown field says which
known name was likely meant.

Pydantic reports an unknown field as "Extra inputs are not permitted" without saying what the
model does accept there; a sender who wrote ``ttl_second`` should read that ``ttl_seconds`` was
meant. The HTTP APIs and the Kafka intake both explain errors here, so they say the same thing.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

UNKNOWN_FIELD = "extra_forbidden"

Location = Sequence[str | int]


def likely_meant(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``name`` when one is close enough to be a slip, else None."""
    matches = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return matches[0] if matches else None


def known_fields(model: type[BaseModel], path: Location) -> tuple[str, ...]:
    """The field names accepted at ``path`` inside ``model`` (an error's location without its last
    part), in declaration order; empty when the path leads to no model."""
    kinds: list[Any] = [model]
    for part in path:
        kinds = [inner for kind in kinds for leaf in _leaves(kind) for inner in _step(leaf, part)]
    names: dict[str, None] = {}
    for kind in kinds:
        for leaf in _leaves(kind):
            if _is_model(leaf):
                names.update(dict.fromkeys(leaf.model_fields))
    return tuple(names)


def unknown_field_message(model: type[BaseModel] | None, location: Location) -> str:
    """What to tell a sender about the unknown field at ``location``."""
    if model is None or not location:
        return "unknown field"
    known = known_fields(model, location[:-1])
    if not known:
        return "unknown field"
    meant = likely_meant(str(location[-1]), known)
    if meant is not None:
        return f"unknown field; did you mean {meant!r}?"
    return f"unknown field; expected one of: {', '.join(known)}"


def described(
    errors: Iterable[Mapping[str, Any]], model: type[BaseModel] | None, *, whole: str
) -> list[tuple[str, str]]:
    """``(field path, what is wrong)`` for each pydantic error of validating ``model``; ``whole``
    names the path of an error about the input as a whole.

    Unknown fields come first: a misspelt name also makes the intended field look missing, and
    the misspelling is what the sender has to fix.
    """
    unknown: list[tuple[str, str]] = []
    other: list[tuple[str, str]] = []
    for error in errors:
        location = tuple(error.get("loc", ()))
        path = ".".join(str(part) for part in location) or whole
        if error.get("type") == UNKNOWN_FIELD:
            unknown.append((path, unknown_field_message(model, location)))
        else:
            other.append((path, str(error.get("msg", "invalid"))))
    return unknown + other


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _leaves(kind: Any) -> list[Any]:
    """The concrete types behind Annotated, Optional and unions."""
    origin = get_origin(kind)
    if origin is Annotated:
        return _leaves(get_args(kind)[0])
    if origin is Union or origin is types.UnionType:
        return [leaf for arg in get_args(kind) for leaf in _leaves(arg)]
    return [kind]


def _step(kind: Any, part: str | int) -> list[Any]:
    """The types one location part leads to from ``kind``: a field, a list item, a dict value,
    or (a union member named in the location) the member itself."""
    if _is_model(kind):
        if isinstance(part, str) and part in kind.model_fields:
            return [kind.model_fields[part].annotation]
        return [kind] if part == kind.__name__ else []
    origin, args = get_origin(kind), get_args(kind)
    if origin in (list, tuple, set, frozenset) and isinstance(part, int) and args:
        return [args[0]]
    if origin is dict and len(args) == 2:
        return [args[1]]
    return []
