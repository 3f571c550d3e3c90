"""Write the JSON Schema of every message and an AsyncAPI document of every topic.

``python -m contracts.export`` refreshes the committed snapshots under contracts/schemas/; a test
fails when the models and the snapshots disagree, so a contract change is always a visible diff.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from contracts.base import InternalMessage, Model
from contracts.topics import Topic, all_topics

SCHEMA_DIR = Path(__file__).parent / "schemas"


def schema_file_name(topic: Topic) -> str:
    """The snapshot file of a topic's message: ``<type>.v<version>.json``."""
    return f"{topic.message_type}.v{topic.message_version}.json"


def message_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema per message type (each type once, however many topics carry it)."""
    schemas: dict[str, dict[str, Any]] = {}
    for topic in all_topics():
        name = schema_file_name(topic)
        if name not in schemas:
            schemas[name] = _schema(topic.message)
    return schemas


def _schema(model: type[Model]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="serialization")
    if issubclass(model, InternalMessage):
        return _open(schema)
    return schema


def _open(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema without ``additionalProperties: false`` anywhere: consumers of an internal
    message ignore fields they do not know, in the values it carries too."""

    def opened(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                name: opened(value)
                for name, value in node.items()
                if not (name == "additionalProperties" and value is False)
            }
        if isinstance(node, list):
            return [opened(item) for item in node]
        return node

    result: dict[str, Any] = opened(schema)
    return result


def asyncapi_document() -> dict[str, Any]:
    """An AsyncAPI 3.0 description of Herald's topics and their messages."""
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in all_topics():
        message_name = topic.message.__name__
        messages[message_name] = {
            "name": topic.message_type,
            "title": message_name,
            "contentType": "application/json",
            "payload": {"$ref": f"./{schema_file_name(topic)}"},
        }
        channels[topic.name] = {
            "address": topic.name,
            "description": topic.doc,
            "messages": {message_name: {"$ref": f"#/components/messages/{message_name}"}},
            "bindings": {
                "kafka": {
                    "topic": topic.name,
                    "partitions": topic.partitions,
                    "topicConfiguration": _topic_configuration(topic),
                    "bindingVersion": "0.5.0",
                }
            },
            "x-herald-key": "/".join(topic.key_fields),
            "x-herald-dead-letter": topic.dead_letter,
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Herald",
            "version": "1",
            "description": "Topics between Herald's services. Keys and partitions are binding.",
        },
        "channels": channels,
        "components": {"messages": messages},
    }


def _topic_configuration(topic: Topic) -> dict[str, Any]:
    """The catalog's topic configs in the Kafka binding's shape (replication is per deployment)."""
    configuration: dict[str, Any] = {"cleanup.policy": [topic.cleanup_policy]}
    if topic.retention is not None:
        configuration["retention.ms"] = int(topic.retention.total_seconds() * 1000)
    return configuration


def rendered_files() -> dict[str, str]:
    """Every snapshot file name with its exact content."""
    files = {
        name: json.dumps(schema, indent=2, sort_keys=True) + "\n"
        for name, schema in message_schemas().items()
    }
    files["asyncapi.json"] = json.dumps(asyncapi_document(), indent=2, sort_keys=True) + "\n"
    return files


def main() -> int:
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name, text in rendered_files().items():
        (SCHEMA_DIR / name).write_text(text)
    sys.stdout.write(f"wrote {len(rendered_files())} files to {SCHEMA_DIR}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
