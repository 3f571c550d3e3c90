"""``herald dlq list|show|replay``: look at what consumers parked and, once the cause is fixed,
send chosen records back to the topic they came from.

It needs only the Kafka settings (``HERALD_KAFKA_*``, ``HERALD_TOPIC_PREFIX``). What it chooses
and why it skips a record is decided in shared.kafka.parked; this module reads, prints, produces.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError, KafkaError
from pydantic import ValidationError

from contracts.deadletter import DeadLetter
from contracts.topics import Topic
from shared.kafka.clients import BrokerAccessError, client_options, refusal
from shared.kafka.parked import Parked, Replay, Selection, Skip, parking_topics, plan, read_letter
from shared.settings import KafkaSettings

#: A fetch that brings nothing for this long, once past the end offsets, has read everything.
#: (The embedded broker under-reports end offsets, so reading stops on quiet, not on them.)
QUIET_MS = 500
#: Quiet fetches in a row before giving up on reaching an end offset that never comes.
MAX_QUIET_FETCHES = 20
#: Reasons longer than this are cut in ``list`` (``show`` prints them whole).
LISTED_REASON_CHARS = 160


class DlqError(RuntimeError):
    """The command cannot do what was asked; the message says why."""


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
    replay.add_argument("--all", action="store_true", help="every parked message")
    replay.add_argument("--dry-run", action="store_true", help="say what would happen, send none")


def _moment(text: str) -> datetime:
    """An ISO 8601 time; without an offset it is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parking_topic(name: str) -> Topic:
    """The catalog's parking topic called ``name``."""
    for topic in parking_topics():
        if topic.name == name:
            return topic
    names = ", ".join(t.name for t in parking_topics())
    raise DlqError(f"{name} is not a dead-letter topic; they are: {names}")


async def read_parked(
    settings: KafkaSettings, parking: Topic, selection: Selection
) -> AsyncIterator[Parked]:
    """Every chosen record of ``parking``, in offset order within each partition. Nothing is
    committed: reading leaves no trace on the cluster."""
    consumer = AIOKafkaConsumer(
        **client_options(settings),
        client_id="herald-dlq",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=settings.max_message_bytes,
    )
    try:
        await consumer.start()
    except KafkaConnectionError as error:
        await consumer.stop()
        raise await refusal(settings) from error
    try:
        address = settings.address(parking)
        if address not in await consumer.topics():
            raise DlqError(f"{address} does not exist on {settings.kafka_bootstrap}")
        known = consumer.partitions_for_topic(address)
        numbers = sorted(known) if known else range(settings.partitions_of(parking))
        partitions = [
            TopicPartition(address, n) for n in numbers if selection.partition in (None, n)
        ]
        consumer.assign(partitions)
        for partition in partitions:
            consumer.seek(partition, selection.first_offset)
        ends = await consumer.end_offsets(partitions)
        quiet = 0
        while quiet < MAX_QUIET_FETCHES:
            fetched = await consumer.getmany(timeout_ms=QUIET_MS)
            if not fetched:
                caught_up = [await consumer.position(p) >= ends[p] for p in partitions]
                quiet = MAX_QUIET_FETCHES if all(caught_up) else quiet + 1
                continue
            quiet = 0
            for partition, records in sorted(fetched.items()):
                for record in records:
                    parked = read_letter(parking, partition.partition, record.offset, record.value)
                    if selection.chooses(parked):
                        yield parked
    finally:
        await consumer.stop()


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
    parking = parking_topic(name)
    address = settings.address(parking)
    chosen = [parked async for parked in read_parked(settings, parking, selection)]
    steps = list(plan(chosen, parking, prefix=settings.topic_prefix, address=address))
    replays = [step for step in steps if isinstance(step, Replay)]
    sent = {} if dry_run else await _produce(settings, replays)
    lines: list[str] = []
    for step in steps:
        if isinstance(step, Skip):
            lines.append(f"skipped {step.parked.position}: {step.why}")
            continue
        landed = sent.get(step.parked.position)
        if dry_run:
            lines.append(f"would replay {step.parked.position} to {step.topic}")
        elif isinstance(landed, BaseException):
            lines.append(f"failed {step.parked.position} to {step.topic}: {landed}")
        else:
            lines.append(f"replayed {step.parked.position} to {step.topic} as {landed}")
    failed = sum(isinstance(landed, BaseException) for landed in sent.values())
    lines.append(
        f"{len(replays) - failed} {'to replay' if dry_run else 'replayed'}, "
        f"{len(steps) - len(replays)} skipped, {failed} failed "
        f"(of {len(chosen)} chosen on {address})"
    )
    return lines, failed


async def _produce(
    settings: KafkaSettings, replays: list[Replay]
) -> dict[str, str | BaseException]:
    """Send every replay at once; per parked record, where its copy landed or why it did not."""
    if not replays:
        return {}
    producer = AIOKafkaProducer(
        **client_options(settings),
        client_id="herald-dlq",
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        max_request_size=settings.max_message_bytes,
    )
    try:
        await producer.start()
    except KafkaConnectionError as error:
        await producer.stop()
        raise await refusal(settings) from error
    try:
        pending = [
            await producer.send(r.topic, value=r.value, key=r.key, headers=list(r.headers))
            for r in replays
        ]
        results = await asyncio.gather(*pending, return_exceptions=True)
    finally:
        await producer.stop()
    return {
        replay.parked.position: result
        if isinstance(result, BaseException)
        else f"{result.partition}:{result.offset}"
        for replay, result in zip(replays, results, strict=True)
    }


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
            "--partition), not both"
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
