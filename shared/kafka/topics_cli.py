"""``herald topics plan|apply``: what the catalog needs from a cluster, for clusters whose topics
operators own (HERALD_KAFKA_CREATE_TOPICS=false) and for checking one that Herald created.

It needs only the Kafka settings (``HERALD_KAFKA_*``, ``HERALD_TOPIC_PREFIX``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass, field

from aiokafka.errors import KafkaError
from pydantic import ValidationError

from contracts.topics import all_topics
from shared.kafka.admin import (
    ConfigsUnsupported,
    TopicAdminError,
    alter_configs,
    ensure_topics,
    observe,
)
from shared.kafka.clients import BrokerAccessError
from shared.kafka.topology import Difference, ObservedTopic, differences, needs, wanted_topics
from shared.settings import KafkaSettings

NO_CONFIGS = "topic configs not compared: this broker does not describe them"


@dataclass
class Report:
    """What a command prints, and what it leaves different (a non-zero exit for ``apply``)."""

    lines: list[str] = field(default_factory=list)
    left: list[Difference] = field(default_factory=list)


def add_commands(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``topics`` group to the ``herald`` parser."""
    commands = groups.add_parser(
        "topics", help="the topics the catalog needs (Kafka settings only)"
    ).add_subparsers(dest="command", required=True)
    plan_command = commands.add_parser(
        "plan", help="print every topic the catalog needs and how the cluster differs"
    )
    plan_command.add_argument(
        "--offline", action="store_true", help="print what is needed without asking the cluster"
    )
    commands.add_parser(
        "apply", help="create missing topics, set their configs, report what it cannot change"
    )


async def plan(settings: KafkaSettings, *, offline: bool = False) -> Report:
    """The catalog's needs, then each difference on the cluster (unless ``offline``)."""
    wanted = wanted_topics(settings, all_topics())
    report = Report([f"Herald needs {len(wanted)} topics:"])
    report.lines += [f"  {spec.name}: {needs(spec)}" for spec in wanted]
    if offline:
        return report
    observed = await observe(settings, [spec.name for spec in wanted])
    report.left = differences(wanted, observed)
    report.lines.append(f"On {settings.kafka_bootstrap}:")
    report.lines += [f"  {difference}" for difference in report.left] or ["  nothing differs"]
    if _configs_unknown(observed):
        report.lines.append(f"  ({NO_CONFIGS})")
    return report


async def apply(settings: KafkaSettings) -> Report:
    """Create what is missing, change configs that differ, and report whatever still differs."""
    wanted = wanted_topics(settings, all_topics())
    names = [spec.name for spec in wanted]
    created = await ensure_topics(settings, all_topics())
    report = Report([f"created {len(created)} topics" + "".join(f"\n  {n}" for n in created)])
    found = differences(wanted, await observe(settings, names))
    changes: dict[str, dict[str, str]] = {}
    for difference in found:
        if difference.kind == "config" and difference.config is not None:
            changes.setdefault(difference.topic, {})[difference.config] = difference.wanted
    if changes:
        try:
            await alter_configs(settings, changes)
            report.lines.append(f"changed the configs of {len(changes)} topics")
        except ConfigsUnsupported as error:
            report.lines.append(f"configs left as they are: {error}")
    observed = await observe(settings, names)
    report.left = differences(wanted, observed)
    if report.left:
        report.lines.append("still different (change these by hand):")
        report.lines += [f"  {difference}" for difference in report.left]
    else:
        report.lines.append("every topic is as the catalog needs")
    if _configs_unknown(observed):
        report.lines.append(f"({NO_CONFIGS})")
    return report


def _configs_unknown(observed: dict[str, ObservedTopic]) -> bool:
    return any(topic.configs is None for topic in observed.values())


def main(args: argparse.Namespace) -> int:
    """Run ``herald topics <command>``: 0 when done (for ``apply``: when nothing differs)."""
    try:
        settings = KafkaSettings()
        if args.command == "plan":
            report = asyncio.run(plan(settings, offline=args.offline))
        else:
            report = asyncio.run(apply(settings))
    except (ValidationError, KafkaError, BrokerAccessError, TopicAdminError) as error:
        print(f"herald: {error}", file=sys.stderr)
        return 1
    print("\n".join(report.lines))
    return 1 if args.command == "apply" and report.left else 0
