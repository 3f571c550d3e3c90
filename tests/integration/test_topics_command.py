"""``herald topics plan|apply`` and the topic-creation switch, against the test session's broker."""

from __future__ import annotations

import pytest
from aiokafka.admin import NewTopic

from contracts import topics
from contracts.topics import all_topics
from services.registry.apps.cli import main
from shared.embedded.brokers import LocalBroker
from shared.embedded.ports import free_port
from shared.kafka.admin import admin_client, ensure_topics, observe
from shared.kafka.topics_cli import apply, plan
from shared.runtime import prepare_topics
from shared.settings import KafkaSettings
from tests.support.brokers import ON_KAFKA
from tests.support.kafka import kafka_settings_for_test

pytestmark = pytest.mark.integration

CATALOG_SIZE = len(list(all_topics()))


@pytest.fixture
def kafka(broker: LocalBroker) -> KafkaSettings:
    return kafka_settings_for_test(broker.bootstrap)


async def test_plan_lists_every_topic_and_an_empty_cluster_misses_them_all(
    kafka: KafkaSettings,
) -> None:
    report = await plan(kafka)

    assert (
        f"  {kafka.topic_prefix}apps.changed: partitions=1 replication=1 cleanup.policy=compact "
        "min.insync.replicas=1" in report.lines
    )
    assert len(report.left) == CATALOG_SIZE
    assert {d.kind for d in report.left} == {"missing"}


async def test_apply_creates_what_the_catalog_needs_and_plan_then_finds_nothing(
    kafka: KafkaSettings,
) -> None:
    applied = await apply(kafka)
    planned = await plan(kafka)

    assert applied.left == []
    assert f"created {CATALOG_SIZE} topics" in applied.lines[0]
    assert planned.left == []
    assert "  nothing differs" in planned.lines
    observed = await observe(kafka, [kafka.address(topics.APPS)])
    configs = observed[kafka.address(topics.APPS)].configs
    assert configs is not None
    assert (configs["cleanup.policy"], configs["min.insync.replicas"]) == ("compact", "1")


async def test_apply_leaves_a_partition_count_alone_and_says_so(kafka: KafkaSettings) -> None:
    fcm = topics.PUSH["fcm"]
    await ensure_topics(kafka.model_copy(update={"kafka_partitions": {fcm.name: 2}}), [fcm])

    report = await apply(kafka)

    [left] = report.left
    assert (left.topic, left.kind, left.found) == (kafka.address(fcm), "partitions", "2")
    assert any("HERALD_KAFKA_PARTITIONS" in line for line in report.lines)


async def test_configs_of_a_topic_created_before_the_catalog_had_them(
    kafka: KafkaSettings,
) -> None:
    name = kafka.address(topics.APPS)
    async with admin_client(kafka) as admin:
        await admin.create_topics([NewTopic(name, 1, 1)])

    report = await apply(kafka)

    if ON_KAFKA:
        assert report.left == []
        assert "changed the configs of 1 topics" in report.lines
    else:
        # The embedded broker keeps configs given at creation but cannot change them later.
        assert {(d.topic, d.config) for d in report.left} == {
            (name, "cleanup.policy"),
            (name, "min.insync.replicas"),
        }
        assert any("cannot change topic configs" in line for line in report.lines)


def test_the_herald_command_exits_non_zero_while_something_differs(
    kafka: KafkaSettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HERALD_KAFKA_BOOTSTRAP", kafka.kafka_bootstrap)
    monkeypatch.setenv("HERALD_TOPIC_PREFIX", kafka.topic_prefix)
    monkeypatch.setenv("HERALD_KAFKA_PARTITIONS", '{"notifications.due": 3}')

    assert main(["topics", "plan", "--offline"]) == 0
    assert f"{kafka.topic_prefix}notifications.due: partitions=3 " in capsys.readouterr().out
    assert main(["topics", "apply"]) == 0
    monkeypatch.delenv("HERALD_KAFKA_PARTITIONS")
    assert main(["topics", "plan"]) == 0
    assert main(["topics", "apply"]) == 1
    out = capsys.readouterr().out
    assert "notifications.due: partitions is 3, the catalog needs 8" in out


def test_a_broken_setting_is_named_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HERALD_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")

    assert main(["topics", "plan", "--offline"]) == 1
    assert "HERALD_KAFKA_SASL_USERNAME" in capsys.readouterr().err


async def test_services_create_no_topic_when_operators_own_them(kafka: KafkaSettings) -> None:
    await prepare_topics(kafka.model_copy(update={"kafka_create_topics": False}))

    assert await observe(kafka, [kafka.address(t) for t in all_topics()]) == {}


def test_a_broker_nobody_answers_on_is_named_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    silent = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("HERALD_KAFKA_BOOTSTRAP", silent)

    assert main(["topics", "plan"]) == 1
    error = capsys.readouterr().err
    assert "no broker of HERALD_KAFKA_BOOTSTRAP let us in" in error
    assert f"{silent}: " in error
