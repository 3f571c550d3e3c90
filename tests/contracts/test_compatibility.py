"""What each release must keep reading: every committed example, and internal messages from a
newer release that carry fields this one does not know; public requests refuse such fields."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from contracts.base import InternalMessage, PublicRequest
from contracts.codec import DecodeError, decode
from contracts.export import SCHEMA_DIR, schema_file_name
from contracts.topics import CANCEL_REQUESTED, SUBMITTED, Topic, all_topics

EXAMPLES = Path(SCHEMA_DIR).parent / "examples"
pytestmark = pytest.mark.unit

UNKNOWN = "added_in_a_later_release"


def topic_of(example: Path) -> Topic:
    """The topic whose current message type the committed example is an instance of."""
    message_type = json.loads(example.read_bytes())["type"]
    return next(topic for topic in all_topics() if topic.message_type == message_type)


def model_paths(
    value: BaseModel, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[str | int, ...]]:
    """Where in a message's JSON each model (the message and every value in it) sits."""
    yield path
    for name in type(value).model_fields:
        child = getattr(value, name)
        children = enumerate(child) if isinstance(child, list | tuple) else [(None, child)]
        for index, item in children:
            if isinstance(item, BaseModel):
                yield from model_paths(
                    item, (*path, name) if index is None else (*path, name, index)
                )


def with_unknown_field(raw: bytes, path: tuple[str | int, ...]) -> bytes:
    data = json.loads(raw)
    node: Any = data
    for part in path:
        node = node[part]
    node[UNKNOWN] = {"nested": [1, "two"]}
    return json.dumps(data).encode()


COMMITTED = sorted(EXAMPLES.glob("*.json"))
INTERNAL = [path for path in COMMITTED if issubclass(topic_of(path).message, InternalMessage)]
PUBLIC = [path for path in COMMITTED if issubclass(topic_of(path).message, PublicRequest)]


def test_every_topic_says_whether_its_messages_come_from_outside() -> None:
    public = {t.name for t in all_topics() if issubclass(t.message, PublicRequest)}
    internal = {t.name for t in all_topics() if issubclass(t.message, InternalMessage)}

    assert public == {SUBMITTED.name, CANCEL_REQUESTED.name}
    assert not public & internal
    assert public | internal == {t.name for t in all_topics()}


@pytest.mark.parametrize("example", COMMITTED, ids=lambda path: path.name)
def test_every_committed_example_decodes_with_this_release(example: Path) -> None:
    topic = topic_of(example)

    message = decode(topic, example.read_bytes())

    assert example.name.startswith(f"{topic.message_type}.v")
    assert isinstance(message, topic.message)


@pytest.mark.parametrize("example", INTERNAL, ids=lambda path: path.name)
def test_internal_messages_ignore_unknown_fields_at_every_depth(example: Path) -> None:
    topic = topic_of(example)
    raw = example.read_bytes()
    original = decode(topic, raw)

    for path in model_paths(original):
        assert decode(topic, with_unknown_field(raw, path)) == original, path


@pytest.mark.parametrize("example", PUBLIC, ids=lambda path: path.name)
def test_public_requests_refuse_unknown_fields_at_every_depth(example: Path) -> None:
    topic = topic_of(example)
    raw = example.read_bytes()

    for path in model_paths(decode(topic, raw)):
        with pytest.raises(DecodeError) as refused:
            decode(topic, with_unknown_field(raw, path))
        where = ".".join(str(part) for part in (*path, UNKNOWN))
        assert f"{where}: unknown field" in refused.value.reason


def test_the_public_examples_reach_nested_values() -> None:
    raw = (EXAMPLES / schema_file_name(SUBMITTED)).read_bytes()

    paths = set(model_paths(decode(SUBMITTED, raw)))

    assert {(), ("audience",), ("content",), ("options",)} <= paths
