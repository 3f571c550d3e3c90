"""Topics on the broker: create what the catalog needs, read back what a cluster has, and change
topic configs.

Brokers that auto-create topics pick their own partition count, which breaks per-key ordering
assumptions, so Herald never relies on auto-creation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import IncompatibleBrokerVersion, KafkaConnectionError

from contracts.topics import Topic
from shared.kafka.clients import client_options, refusal
from shared.kafka.topology import ObservedTopic, wanted_topics
from shared.settings import KafkaSettings

log = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS = 36
#: Requests (0.1 s apart) before new topics or changed configs must show in the brokers' answers.
SETTLE_ATTEMPTS = 300
#: DescribeConfigs' ``config_source`` of a value set on the topic itself (not a broker default).
DYNAMIC_TOPIC_CONFIG = 1


class TopicAdminError(RuntimeError):
    """The brokers refused to create a topic (other than because it exists) or change its configs,
    or did not show the result in time."""


class ConfigsUnsupported(RuntimeError):
    """The broker cannot change topic configs (the embedded broker has no AlterConfigs)."""


@contextlib.asynccontextmanager
async def admin_client(settings: KafkaSettings) -> AsyncIterator[AIOKafkaAdminClient]:
    """A started admin client on the settings' brokers, closed after use."""
    admin = AIOKafkaAdminClient(**client_options(settings), client_id="herald-admin")
    try:
        await admin.start()
    except KafkaConnectionError as error:
        await admin.close()
        raise await refusal(settings) from error
    try:
        yield admin
    finally:
        await admin.close()


async def ensure_topics(settings: KafkaSettings, topics: Iterable[Topic]) -> list[str]:
    """Create every topic that does not exist yet, with the deployment's partitions, replication
    and the catalog's configs; return the names created. Existing topics are left as they are.
    """
    wanted = [
        NewTopic(spec.name, spec.partitions, spec.replication, topic_configs=dict(spec.configs))
        for spec in wanted_topics(settings, topics)
    ]
    async with admin_client(settings) as admin:
        response = await admin.create_topics(wanted)
        created = []
        for name, code, message in (error[:3] for error in response.topic_errors):
            if code == 0:
                created.append(name)
            elif code != TOPIC_ALREADY_EXISTS:
                raise TopicAdminError(f"cannot create topic {name}: error {code} {message}")
        await _until_listed(admin, {topic.name for topic in wanted})
    log.info("topics ready: %d created, %d existed", len(created), len(wanted) - len(created))
    return created


async def _until_listed(admin: AIOKafkaAdminClient, names: set[str]) -> None:
    """Wait until the brokers' metadata lists ``names``: Kafka answers a creation before every
    broker knows the topic, and a producer or a plan right after would find it missing."""
    for _ in range(SETTLE_ATTEMPTS):
        if names <= set(await admin.list_topics()):
            return
        await asyncio.sleep(0.1)
    raise TopicAdminError(f"topics created but still not listed: {sorted(names)}")


async def observe(settings: KafkaSettings, names: Iterable[str]) -> dict[str, ObservedTopic]:
    """The topics among ``names`` that exist, as the cluster has them."""
    async with admin_client(settings) as admin:
        # Describe only existing names: the embedded broker creates any topic it is asked about.
        existing = sorted(set(names) & set(await admin.list_topics()))
        if not existing:
            return {}
        described = await admin.describe_topics(existing)
        configs = await _topic_configs(admin, existing)
    observed = {}
    for topic in described:
        name, partitions = topic["topic"], topic["partitions"]
        entries = None if configs is None else configs.get(name)
        observed[name] = ObservedTopic(
            name=name,
            partitions=len(partitions),
            replication=min((len(p["replicas"]) for p in partitions), default=0),
            configs=None if entries is None else _values(entries),
        )
    return observed


async def alter_configs(settings: KafkaSettings, changes: Mapping[str, Mapping[str, str]]) -> None:
    """Set the given configs per topic, keeping every other value set on the topic, and return
    once the brokers report them.

    AlterConfigs replaces all of a topic's own values, so the current ones are read first.
    """
    async with admin_client(settings) as admin:
        current = await _topic_configs(admin, sorted(changes))
        if current is None:
            raise ConfigsUnsupported("this broker cannot describe topic configs")
        resources = [
            ConfigResource(
                ConfigResourceType.TOPIC,
                name,
                configs={**_values(current.get(name, []), own_only=True), **values},
            )
            for name, values in changes.items()
        ]
        try:
            responses = await admin.alter_configs(resources)
        except IncompatibleBrokerVersion as error:
            raise ConfigsUnsupported("this broker cannot change topic configs") from error
        for response in responses:
            for code, message, _, name in (resource[:4] for resource in response.resources):
                if code != 0:
                    raise TopicAdminError(f"cannot change the configs of {name}: {code} {message}")
        await _until_reported(admin, changes)


async def _until_reported(
    admin: AIOKafkaAdminClient, changes: Mapping[str, Mapping[str, str]]
) -> None:
    """Wait until every broker answer shows ``changes``: Kafka applies a change after answering."""
    for _ in range(SETTLE_ATTEMPTS):
        current = await _topic_configs(admin, sorted(changes)) or {}
        if all(
            _values(current.get(name, [])).items() >= values.items()
            for name, values in changes.items()
        ):
            return
        await asyncio.sleep(0.1)
    raise TopicAdminError(f"configs changed but not yet in effect: {dict(changes)}")


async def _topic_configs(
    admin: AIOKafkaAdminClient, names: list[str]
) -> dict[str, list[Any]] | None:
    """Each topic's config entries (topics the broker would not describe left out), or None when
    the broker cannot describe configs at all."""
    try:
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        )
    except IncompatibleBrokerVersion:
        return None
    entries: dict[str, list[Any]] = {}
    for response in responses:
        for code, _, _, name, config_entries in response.resources:
            if code == 0:
                entries[name] = list(config_entries)
    return entries


def _values(entries: list[Any], *, own_only: bool = False) -> dict[str, str]:
    """Name -> value of DescribeConfigs entries (name, value, read_only, source, ...)."""
    return {
        entry[0]: entry[1]
        for entry in entries
        if entry[1] is not None and (not own_only or entry[3] == DYNAMIC_TOPIC_CONFIG)
    }
