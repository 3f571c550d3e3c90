"""What a record on a parking topic (a ``*.dlq`` topic, ``notifications.rejected``) says, which
of them an operator chose, and what replaying each would do.

Pure, so ``herald dlq`` only reads, prints and produces, and the choosing is unit-tested.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from contracts.codec import DecodeError, decode
from contracts.deadletter import DeadLetter
from contracts.notifications import NotificationRejected, SourceRecord
from contracts.topics import Topic, all_topics, by_name

#: How a dead letter's reason says the consumer kept only the start of the value.
VALUE_CUT = "value cut to its first"
#: Added to every replayed record: where it was parked (nothing acts on it; people read it).
REPLAYED_FROM_HEADER = "herald-replayed-from"

Letter = DeadLetter | NotificationRejected


def parking_topics() -> list[Topic]:
    """Every topic consumers park messages on, in catalog order."""
    return [t for t in all_topics() if t.message in (DeadLetter, NotificationRejected)]


def app_of(letter: Letter) -> str | None:
    """The app a parked message belongs to, when it can be told: the app a rejection names, else
    the ``app_id`` its original value carries (every event does); None for bytes naming none."""
    if isinstance(letter, NotificationRejected) and letter.app_id is not None:
        return letter.app_id
    try:
        value = json.loads(letter.source.value)
    except (ValueError, RecursionError):
        return None
    app_id = value.get("app_id") if isinstance(value, dict) else None
    return app_id if isinstance(app_id, str) else None


@dataclass(frozen=True)
class Parked:
    """One record of a parking topic: its dead letter, or why it is none."""

    partition: int
    offset: int
    letter: Letter | None
    problem: str | None = None

    @property
    def position(self) -> str:
        return f"{self.partition}:{self.offset}"


@dataclass(frozen=True)
class Selection:
    """Which parked records to take; every filter given must hold (none given: all of them).

    ``reason`` matches a part of the reason, ignoring case; ``since`` is inclusive and ``until``
    exclusive, both against when the record was parked; ``app_id`` keeps only the records
    ``app_of`` says are that app's (a record naming no app is no app's).
    """

    reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    offsets: frozenset[int] = field(default_factory=frozenset)
    partition: int | None = None
    app_id: str | None = None

    @property
    def narrowed(self) -> bool:
        """Whether any filter was given."""
        return self != Selection()

    @property
    def first_offset(self) -> int:
        """Where reading may start in every partition."""
        return min(self.offsets, default=0)

    def chooses(self, parked: Parked) -> bool:
        if self.partition is not None and parked.partition != self.partition:
            return False
        if self.offsets and parked.offset not in self.offsets:
            return False
        if parked.letter is None:
            return (
                self.reason is None
                and self.since is None
                and self.until is None
                and self.app_id is None
            )
        if self.app_id is not None and app_of(parked.letter) != self.app_id:
            return False
        if (
            self.reason is not None
            and self.reason.casefold() not in parked.letter.reason.casefold()
        ):
            return False
        if self.since is not None and parked.letter.occurred_at < self.since:
            return False
        return self.until is None or parked.letter.occurred_at < self.until


@dataclass(frozen=True)
class Replay:
    """Produce the original record again: to ``topic`` (its address), as it was."""

    parked: Parked
    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes | None], ...]


@dataclass(frozen=True)
class Skip:
    """Leave the record parked, and say why."""

    parked: Parked
    why: str


def read_letter(parking: Topic, partition: int, offset: int, raw: bytes | None) -> Parked:
    """A record of ``parking`` as the operator sees it."""
    try:
        letter = decode(parking, raw)
    except DecodeError as error:
        return Parked(partition, offset, None, f"not a dead letter: {error.reason}")
    if not isinstance(letter, DeadLetter | NotificationRejected):
        return Parked(partition, offset, None, f"not a dead letter: a {type(letter).__name__}")
    return Parked(partition, offset, letter)


def plan(
    chosen: Iterable[Parked], parking: Topic, *, prefix: str, address: str
) -> Iterator[Replay | Skip]:
    """What replaying each chosen record of ``parking`` (at ``address`` on the cluster) does.

    A record goes back to the topic it came from, with its key and headers (an intake signature
    must travel with its value), only when that topic parks here, is not compacted, and the
    value is whole and valid for it now; a source record parked twice (a consumer that crashed
    after parking it, before committing) goes back once.
    """
    replayed: dict[tuple[str, int, int], Parked] = {}
    for parked in chosen:
        if parked.letter is None:
            yield Skip(parked, parked.problem or "not a dead letter")
            continue
        source = parked.letter.source
        why = _not_replayable(parked.letter, parking, prefix)
        if why is not None:
            yield Skip(parked, why)
            continue
        seen = replayed.get((source.topic, source.partition, source.offset))
        if seen is not None:
            yield Skip(parked, f"the same record as {seen.position}, replayed once")
            continue
        replayed[(source.topic, source.partition, source.offset)] = parked
        yield Replay(
            parked, source.topic, source.key, source.value, _headers(source, parked, address)
        )


def _not_replayable(letter: Letter, parking: Topic, prefix: str) -> str | None:
    source = letter.source
    if not source.topic.startswith(prefix):
        return f"it came from {source.topic}, outside this deployment's prefix {prefix!r}"
    name = source.topic.removeprefix(prefix)
    try:
        topic = by_name(name)
    except KeyError:
        return f"it came from {name}, which is not a topic of the catalog"
    if topic.dead_letter != parking.name:
        return f"{name} parks on {topic.dead_letter or 'no topic'}, not on {parking.name}"
    if topic.cleanup_policy == "compact":
        return (
            f"{name} is compacted: an old state sent again could outlive a newer one; the "
            "next change publishes the whole current state"
        )
    if VALUE_CUT in letter.reason:
        return "its value was cut when it was parked; the whole message is gone"
    try:
        decode(topic, source.value)
    except DecodeError as error:
        return f"still not a valid {name} message: {error.reason}"
    return None


def _headers(
    source: SourceRecord, parked: Parked, address: str
) -> tuple[tuple[str, bytes | None], ...]:
    kept = tuple((header.name, header.value) for header in source.headers)
    return (*kept, (REPLAYED_FROM_HEADER, f"{address}/{parked.position}".encode()))
