"""What the catalog asks of a cluster, and how an observed cluster is found to differ from it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from contracts import topics
from contracts.topics import all_topics
from shared.kafka.topology import ObservedTopic, TopicSpec, differences, wanted_topics
from shared.settings import KafkaSettings

pytestmark = pytest.mark.unit


def spec(name: str = "apps.changed") -> TopicSpec:
    return TopicSpec(
        name=name,
        partitions=8,
        replication=3,
        configs={"cleanup.policy": "compact", "min.insync.replicas": "2"},
    )


def observed_as(wanted: TopicSpec, **changes: Any) -> ObservedTopic:
    """The topic as a cluster would report it if it matched ``wanted``, but for ``changes``."""
    exact = ObservedTopic(wanted.name, wanted.partitions, wanted.replication, dict(wanted.configs))
    return replace(exact, **changes)


def test_each_topic_gets_the_deployments_replication_partitions_and_prefix() -> None:
    settings = KafkaSettings(
        kafka_replication_factor=3,
        kafka_partitions={"push.fcm": 32},
        topic_prefix="prod.",
    )

    wanted = {s.name: s for s in wanted_topics(settings, all_topics())}

    assert wanted["prod.push.fcm"].partitions == 32
    assert wanted["prod.push.apns"].partitions == topics.PUSH["apns"].partitions
    assert {s.replication for s in wanted.values()} == {3}
    assert {s.configs["min.insync.replicas"] for s in wanted.values()} == {"2"}


def test_state_topics_are_compacted_and_the_others_expire() -> None:
    wanted = {s.name: s for s in wanted_topics(KafkaSettings(), all_topics())}

    assert wanted["apps.changed"].configs["cleanup.policy"] == "compact"
    assert wanted["users.preferences"].configs["cleanup.policy"] == "compact"
    assert "retention.ms" not in wanted["apps.changed"].configs
    assert wanted["notifications.user"].configs["cleanup.policy"] == "delete"
    week = str(7 * 24 * 3600 * 1000)
    assert wanted["notifications.user"].configs["retention.ms"] == week
    dead_letters = int(wanted["push.fcm.dlq"].configs["retention.ms"])
    assert dead_letters > int(week)


def test_a_cluster_that_matches_has_no_differences() -> None:
    wanted = [spec("a"), spec("b")]

    assert differences(wanted, {s.name: observed_as(s) for s in wanted}) == []


def test_a_missing_topic_is_the_one_thing_apply_creates() -> None:
    [found] = differences([spec("a")], {})

    assert (found.topic, found.kind, found.fixable) == ("a", "missing", True)
    assert "partitions=8 replication=3 cleanup.policy=compact" in str(found)


@pytest.mark.parametrize("partitions", [4, 16])
def test_a_different_partition_count_is_reported_and_left_alone(partitions: int) -> None:
    wanted = spec()

    [found] = differences([wanted], {wanted.name: observed_as(wanted, partitions=partitions)})

    assert (found.kind, found.wanted, found.found, found.fixable) == (
        "partitions",
        "8",
        str(partitions),
        False,
    )
    assert "HERALD_KAFKA_PARTITIONS" in str(found)


def test_a_lower_replication_factor_is_reported_and_left_alone() -> None:
    wanted = spec()

    [found] = differences([wanted], {wanted.name: observed_as(wanted, replication=1)})

    assert (found.kind, found.found, found.fixable) == ("replication", "1", False)


def test_each_differing_config_is_one_difference_that_apply_changes() -> None:
    wanted = spec()
    configs = {"cleanup.policy": "delete", "retention.ms": "604800000"}

    found = differences([wanted], {wanted.name: observed_as(wanted, configs=configs)})

    assert [(d.config, d.wanted, d.found, d.fixable) for d in found] == [
        ("cleanup.policy", "compact", "delete", True),
        ("min.insync.replicas", "2", None, True),
    ]
    assert "the broker default" in str(found[1])


def test_configs_a_broker_cannot_describe_are_not_compared() -> None:
    wanted = spec()

    assert differences([wanted], {wanted.name: observed_as(wanted, configs=None)}) == []


def test_topics_the_catalog_does_not_know_are_ignored() -> None:
    wanted = spec("a")
    stranger = ObservedTopic("someone.else", 1, 1, {})

    assert differences([wanted], {"a": observed_as(wanted), stranger.name: stranger}) == []
