"""``herald dlq list|show|replay``: look at what consumers parked and, once the cause is fixed,
send chosen records back to the topic they came from.

It needs only the Kafka settings (``HERALD_KAFKA_*``, ``HERALD_TOPIC_PREFIX``). What it chooses
and why it skips a record is decided in shared.kafka.parked, the reading and producing is
shared.kafka.dlq's (the registry's dead-letter API uses the same); this module parses and prints.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
from datetime import UTC, datetime

from aiokafka.errors import KafkaError
from pydantic import ValidationError

from contracts.deadletter import DeadLetter
from shared.kafka.clients import BrokerAccessError
from shared.kafka.dlq import DlqError, parking_topic, read_parked, replay
from shared.kafka.parked import Parked, Replay, Selection, Skip, parking_topics
from shared.settings import KafkaSettings

#: Reasons longer than this are cut in ``list`` (``show`` prints them whole).
LISTED_REASON_CHARS = 160


def add_commands(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``dlq`` group to the ``herald`` parser."""
    commands = groups.add_parser(
        "dlq", help="parked messages: list, show and replay them (Kafka settings only)"
    ).add_subparsers(dest="command", required=True)
    names = ", ".join(topic.name for topic in parking_topics())
    listing = commands.add_parser("list", help="print the parked messages of a dead-letter topic")
    shown = commands.add_parser("show", help="print one parked message and its original record")
    replay = commands.add_parser("replay", help="send chosen parked messages back to their topic")
    for command in (listing, shown, replay):
        command.add_argument("topic", metavar="TOPIC", help=f"one of: {names}")
    shown.add_argument("offset", type=int)
    shown.add_argument("--partition", type=int, help="when the topic has several")
    for command in (listing, replay):
        command.add_argument("--reason", help="only reasons containing this text (any case)")
        command.add_argument("--since", type=_moment, help="parked at or after (ISO 8601)")
        command.add_argument("--until", type=_moment, help="parked before (ISO 8601)")
        command.add_argument(
            "--offset", type=int, action="append", default=[], help="only this one (repeatable)"
        )
        command.add_argument("--partition", type=int, help="only this partition")
        command.add_argument(
            "--app", help="only records naming this app (its rejection, or its event's app_id)"
        )
    replay.add_argument("--all", action="store_true", help="every parked message")
    replay.add_argument("--dry-run", action="store_true", help="say what would happen, send none")


def _moment(text: str) -> datetime:
    """An ISO 8601 time; without an offset it is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def list_parked(settings: KafkaSettings, name: str, selection: Selection) -> list[str]:
    parking = parking_topic(name)
    lines = [_listed(parked) async for parked in read_parked(settings, parking, selection)]
    return lines or [f"nothing parked on {settings.address(parking)} matches"]


async def show_parked(
    settings: KafkaSettings, name: str, offset: int, partition: int | None
) -> list[str]:
    parking = parking_topic(name)
    selection = Selection(offsets=frozenset({offset}), partition=partition)
    found = [parked async for parked in read_parked(settings, parking, selection)]
    if not found:
        raise DlqError(f"no record at offset {offset} of {settings.address(parking)}")
    if len(found) > 1:
        raise DlqError(f"offset {offset} is in {len(found)} partitions; give --partition")
    return _shown(found[0])


async def replay_parked(
    settings: KafkaSettings, name: str, selection: Selection, *, dry_run: bool
) -> tuple[list[str], int]:
    """One line per chosen record (replayed, or skipped and why) and a summary; and how many
    records the broker did not take."""
    report = await replay(settings, parking_topic(name), selection, dry_run=dry_run)
    lines: list[str] = []
    for step in report.steps:
        if isinstance(step, Skip):
            lines.append(f"skipped {step.parked.position}: {step.why}")
            continue
        landed = report.landed.get(step.parked.position)
        if dry_run:
            lines.append(f"would replay {step.parked.position} to {step.topic}")
        elif isinstance(landed, BaseException):
            lines.append(f"failed {step.parked.position} to {step.topic}: {landed}")
        else:
            lines.append(f"replayed {step.parked.position} to {step.topic} as {landed}")
    replays = sum(isinstance(step, Replay) for step in report.steps)
    lines.append(
        f"{replays - report.failed} {'to replay' if dry_run else 'replayed'}, "
        f"{len(report.steps) - replays} skipped, {report.failed} failed "
        f"(of {report.chosen} chosen on {report.address})"
    )
    return lines, report.failed


def _listed(parked: Parked) -> str:
    letter = parked.letter
    if letter is None:
        return f"{parked.position}  {parked.problem}"
    source = letter.source
    group = letter.consumer_group if isinstance(letter, DeadLetter) else "-"
    reason = " ".join(letter.reason.split())
    if len(reason) > LISTED_REASON_CHARS:
        reason = reason[: LISTED_REASON_CHARS - 3] + "..."
    return (
        f"{parked.position}  {letter.occurred_at.isoformat(timespec='seconds')}  {group}  "
        f"{source.topic} {source.partition}:{source.offset}  {reason}"
    )


def _shown(parked: Parked) -> list[str]:
    letter = parked.letter
    if letter is None:
        return [f"{parked.position}: {parked.problem}"]
    source = letter.source
    lines = [
        f"position: {parked.position}",
        f"parked at: {letter.occurred_at.isoformat(timespec='seconds')}",
    ]
    if isinstance(letter, DeadLetter):
        lines += [f"consumer group: {letter.consumer_group}", f"attempts: {letter.attempts}"]
    else:
        lines += [
            f"app: {letter.app_id or '-'}",
            f"idempotency key: {letter.idempotency_key or '-'}",
        ]
    lines += [
        f"reason: {letter.reason}",
        f"source: {source.topic} {source.partition}:{source.offset}",
        f"key: {_text(source.key)}",
        "headers:" if source.headers else "headers: none",
        *(f"  {header.name}: {_text(header.value)}" for header in source.headers),
        "value:",
        _value(source.value),
    ]
    return lines


def _text(raw: bytes | None) -> str:
    """Bytes as text when they are printable UTF-8, else as base64 (said so)."""
    if raw is None:
        return "(none)"
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        text = None
    if text is not None and text.isprintable():
        return text
    return f"base64:{base64.b64encode(raw).decode()}"


def _value(raw: bytes) -> str:
    """A JSON value indented for reading; anything else as ``_text`` shows it."""
    try:
        return json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return _text(raw)


def _selection(args: argparse.Namespace) -> Selection:
    return Selection(
        reason=args.reason,
        since=args.since,
        until=args.until,
        offsets=frozenset(args.offset),
        partition=args.partition,
        app_id=args.app,
    )


def _run(args: argparse.Namespace, settings: KafkaSettings) -> tuple[list[str], int]:
    if args.command == "list":
        return asyncio.run(list_parked(settings, args.topic, _selection(args))), 0
    if args.command == "show":
        return asyncio.run(show_parked(settings, args.topic, args.offset, args.partition)), 0
    selection = _selection(args)
    if args.all == selection.narrowed:
        raise DlqError(
            "replay needs --all or a choice (--reason, --since, --until, --offset, "
            "--partition, --app), not both"
        )
    lines, failed = asyncio.run(
        replay_parked(settings, args.topic, selection, dry_run=args.dry_run)
    )
    return lines, 1 if failed else 0


def main(args: argparse.Namespace) -> int:
    """Run ``herald dlq <command>``: 0 when done, 1 when it could not (or a replay failed)."""
    try:
        lines, status = _run(args, KafkaSettings())
    except (ValidationError, KafkaError, BrokerAccessError, DlqError) as error:
        print(f"herald: {error}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return status
