"""Committed schema snapshots and examples match the models: a contract change is a visible diff."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.codec import decode, encode
from contracts.export import SCHEMA_DIR, rendered_files, schema_file_name
from contracts.topics import Topic, all_topics

EXAMPLES = Path(SCHEMA_DIR).parent / "examples"
pytestmark = pytest.mark.unit


def test_committed_snapshots_match_the_models() -> None:
    expected = rendered_files()
    committed = {path.name: path.read_text() for path in SCHEMA_DIR.glob("*.json")}

    stale = sorted(name for name in expected if committed.get(name) != expected[name])
    extra = sorted(set(committed) - set(expected))
    assert not stale, f"run `make schemas` and review the diff; stale: {stale}"
    assert not extra, f"snapshots of no current message: {extra}"


@pytest.mark.parametrize(
    "topic",
    list({schema_file_name(t): t for t in all_topics()}.values()),
    ids=lambda topic: topic.message_type,
)
def test_every_message_has_an_example_that_decodes_and_round_trips(topic: Topic) -> None:
    raw = (EXAMPLES / schema_file_name(topic)).read_bytes()

    message = decode(topic, raw)

    assert decode(topic, encode(message)) == message
    assert json.loads(encode(message)) == json.loads(raw)
