"""What the catalog needs from a cluster, and how a cluster differs from that.

Pure: start-up, ``herald topics plan`` and ``herald topics apply`` share these definitions, and the
diffing is tested without a broker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from contracts.topics import Topic
from shared.settings import KafkaSettings

#: Why apply leaves partition counts alone: a key's partition is its hash modulo the count.
PARTITIONS_FIXED = (
    "not changed by apply: more partitions would move keys and break per-key order, and Kafka "
    "cannot remove partitions; set HERALD_KAFKA_PARTITIONS to the count the cluster has, or "
    "recreate the topic"
)
REPLICATION_FIXED = "not changed by apply: reassign the partitions with Kafka's own tools"


@dataclass(frozen=True)
class TopicSpec:
    """One topic as this deployment needs it, under its name on the broker."""

    name: str
    partitions: int
    replication: int
    configs: Mapping[str, str]


@dataclass(frozen=True)
class ObservedTopic:
    """One topic as the cluster has it; ``configs`` is None when the broker cannot describe them.

    A config the broker does not report is absent from ``configs`` (it holds the broker default).
    """

    name: str
    partitions: int
    replication: int
    configs: Mapping[str, str] | None


@dataclass(frozen=True)
class Difference:
    """One way the cluster differs from the catalog; ``fixable`` when ``apply`` can mend it."""

    topic: str
    kind: Literal["missing", "partitions", "replication", "config"]
    wanted: str
    found: str | None = None
    config: str | None = None
    fixable: bool = True

    def __str__(self) -> str:
        if self.kind == "missing":
            return f"{self.topic}: missing ({self.wanted}); apply creates it"
        what = self.config or self.kind
        found = self.found if self.found is not None else "the broker default"
        text = f"{self.topic}: {what} is {found}, the catalog needs {self.wanted}"
        if self.kind == "partitions":
            return f"{text}; {PARTITIONS_FIXED}"
        if self.kind == "replication":
            return f"{text}; {REPLICATION_FIXED}"
        return f"{text}; apply changes it"


def wanted_topics(settings: KafkaSettings, topics: Iterable[Topic]) -> list[TopicSpec]:
    """Every topic with this deployment's prefix, partition counts, replication and configs."""
    return [
        TopicSpec(
            name=settings.address(topic),
            partitions=settings.partitions_of(topic),
            replication=settings.kafka_replication_factor,
            configs={**topic.configs, "min.insync.replicas": str(settings.min_insync_replicas)},
        )
        for topic in topics
    ]


def differences(
    wanted: Iterable[TopicSpec], observed: Mapping[str, ObservedTopic]
) -> list[Difference]:
    """How ``observed`` falls short of ``wanted``, topic by topic, in catalog order."""
    found: list[Difference] = []
    for spec in wanted:
        topic = observed.get(spec.name)
        if topic is None:
            found.append(Difference(spec.name, "missing", needs(spec)))
            continue
        if topic.partitions != spec.partitions:
            found.append(
                Difference(
                    spec.name,
                    "partitions",
                    str(spec.partitions),
                    str(topic.partitions),
                    fixable=False,
                )
            )
        if topic.replication != spec.replication:
            found.append(
                Difference(
                    spec.name,
                    "replication",
                    str(spec.replication),
                    str(topic.replication),
                    fixable=False,
                )
            )
        if topic.configs is not None:
            found += [
                Difference(spec.name, "config", value, topic.configs.get(name), config=name)
                for name, value in spec.configs.items()
                if topic.configs.get(name) != value
            ]
    return found


def needs(spec: TopicSpec) -> str:
    """Everything a topic needs, in one line."""
    configs = " ".join(f"{name}={value}" for name, value in sorted(spec.configs.items()))
    return f"partitions={spec.partitions} replication={spec.replication} {configs}"
