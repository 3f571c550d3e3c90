"""The topic catalog is the one home of topic names, keys and dead-letter routes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from contracts.push import PLATFORMS
from contracts.topics import PUSH, all_topics, by_name

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.unit


def test_names_are_unique_and_every_dead_letter_route_exists() -> None:
    names = [topic.name for topic in all_topics()]

    assert len(names) == len(set(names))
    for topic in all_topics():
        if topic.dead_letter is not None:
            assert by_name(topic.dead_letter).name == topic.dead_letter


def test_every_platform_has_a_push_topic() -> None:
    assert set(PUSH) == set(PLATFORMS)


def test_each_key_field_exists_on_its_message() -> None:
    for topic in all_topics():
        for field in topic.key_fields:
            assert field in topic.message.model_fields, topic.name


def python_files(*folders: str) -> list[Path]:
    return [path for folder in folders for path in (ROOT / folder).rglob("*.py")]


def test_no_module_outside_contracts_spells_a_topic_name() -> None:
    names = {topic.name for topic in all_topics()}
    offenders = []
    for path in python_files("services", "shared"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in names:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")

    assert offenders == []
