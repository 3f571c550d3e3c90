"""What no schema knows: every autoscaler follows the consumer group and topic its Deployment really
consumes, and stops at that topic's partition count; every command a manifest runs is one Herald
has. The names come from the code and the catalog, so renaming a group or topic fails lint here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from contracts import topics
from contracts.push import PLATFORMS
from contracts.topics import Topic
from services.badge_count.app import NAME as BADGE_COUNT_GROUP
from services.dispatcher.app import service_name
from services.dispatcher.settings import DispatcherSettings
from services.ingest.app import NAME as INGEST_GROUP
from services.registry.app import FANOUT_GROUP
from services.scheduler.app import NAME as SCHEDULER_GROUP
from shared.settings import KafkaSettings
from tests.deploy.tools import Manifest


@dataclass(frozen=True)
class Consumer:
    """The consumer group whose lag says a service is behind, and the topic it reads."""

    group: str
    topic: Topic


def main_consumer(module: str, platform: str | None) -> Consumer | None:
    """The consumer an autoscaler of ``python -m module`` (for ``platform``) must watch."""
    if module == "services.dispatcher" and platform in PLATFORMS:
        settings = DispatcherSettings(dispatcher_platform=platform)
        return Consumer(service_name(settings), topics.PUSH[settings.dispatcher_platform])
    return {
        "services.ingest": Consumer(INGEST_GROUP, topics.SUBMITTED),
        "services.registry": Consumer(FANOUT_GROUP, topics.COUNTED),
        "services.scheduler": Consumer(SCHEDULER_GROUP, topics.USER),
        "services.badge_count": Consumer(BADGE_COUNT_GROUP, topics.DUE),
    }.get(module)


def containers(manifest: Manifest) -> list[dict[str, Any]]:
    """The containers (init containers first) of a workload, or none."""
    spec = manifest.get("spec", {}).get("template", {}).get("spec", {})
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def _env_value(container: dict[str, Any], name: str) -> str | None:
    for variable in container.get("env", []):
        if variable.get("name") == name:
            value = variable.get("value")
            return None if value is None else str(value)
    return None


def kafka_settings(manifests: list[Manifest]) -> KafkaSettings:
    """The Kafka settings the render gives its services (the herald-config ConfigMap)."""
    for manifest in manifests:
        if manifest["kind"] == "ConfigMap" and manifest["metadata"]["name"] == "herald-config":
            data = manifest.get("data", {})
            return KafkaSettings(
                kafka_partitions=json.loads(data.get("HERALD_KAFKA_PARTITIONS", "{}")),
                topic_prefix=data.get("HERALD_TOPIC_PREFIX", ""),
            )
    return KafkaSettings()


def scaling_problems(manifests: list[Manifest]) -> Iterator[tuple[str, str]]:
    """(``kind/name``, problem) for each autoscaler not following its Deployment's consumer."""
    settings = kafka_settings(manifests)
    deployments = {m["metadata"]["name"]: m for m in manifests if m["kind"] == "Deployment"}
    for manifest in manifests:
        kind = manifest["kind"]
        if kind not in {"ScaledObject", "HorizontalPodAutoscaler"}:
            continue
        where = f"{kind}/{manifest['metadata']['name']}"
        spec = manifest["spec"]
        target = deployments.get(spec["scaleTargetRef"]["name"])
        if target is None:
            yield where, f"scales {spec['scaleTargetRef']['name']!r}, which is no Deployment here"
            continue
        consumer = consumer_of(target)
        if consumer is None:
            yield where, f"{target['metadata']['name']} runs no consumer Herald knows to scale"
            continue
        partitions = settings.partitions_of(consumer.topic)
        ceiling = spec.get("maxReplicaCount", spec.get("maxReplicas"))
        if ceiling != partitions:
            yield (
                where,
                (
                    f"max replicas {ceiling}, but {consumer.topic.name} has {partitions} "
                    "partitions (contracts/topics.py, HERALD_KAFKA_PARTITIONS): one per replica"
                ),
            )
        if kind == "ScaledObject":
            yield from _trigger_problems(where, spec, consumer, settings)


def _trigger_problems(
    where: str, spec: dict[str, Any], consumer: Consumer, settings: KafkaSettings
) -> Iterator[tuple[str, str]]:
    kafka = [t for t in spec.get("triggers", []) if t.get("type") == "kafka"]
    if not kafka:
        yield where, "no kafka trigger: it would not follow consumer lag"
    wanted = {
        "topic": settings.address(consumer.topic),
        "consumerGroup": f"{settings.topic_prefix}{consumer.group}",
    }
    for trigger in kafka:
        metadata = trigger.get("metadata", {})
        for key, value in wanted.items():
            if metadata.get(key) != value:
                yield (
                    where,
                    f"kafka trigger {key} is {metadata.get(key)!r}; the service uses {value!r}",
                )


def consumer_of(deployment: Manifest) -> Consumer | None:
    """The consumer the Deployment's ``herald`` container runs, from its command and settings."""
    for container in containers(deployment):
        command = container.get("command", [])
        if command[:2] == ["python", "-m"] and len(command) >= 3:
            return main_consumer(command[2], _env_value(container, "HERALD_DISPATCHER_PLATFORM"))
    return None


def commands(manifests: list[Manifest]) -> Iterator[tuple[str, list[str]]]:
    """(``kind/name``, command) for every container of every workload."""
    for manifest in manifests:
        for container in containers(manifest):
            if "command" in container:
                yield f"{manifest['kind']}/{manifest['metadata']['name']}", container["command"]
