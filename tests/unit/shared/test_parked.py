"""Which parked records ``herald dlq`` chooses, what replaying each does, and the ``parked``
trace step a consumer publishes with a dead letter."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts import topics
from contracts.codec import encode
from contracts.deadletter import DeadLetter
from contracts.notifications import NotificationRejected, SourceHeader, SourceRecord
from contracts.push import BadgeSync
from contracts.trace import MAX_REASON_CHARS
from shared.kafka.parked import (
    REPLAYED_FROM_HEADER,
    Parked,
    Replay,
    Selection,
    Skip,
    app_of,
    plan,
    read_letter,
)
from shared.kafka.parked_trace import parked_step
from tests.support.factories import due, push_request

pytestmark = pytest.mark.unit

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PREFIX = "prod."
PUSH_DLQ = topics.by_name("push.fcm.dlq")
PUSH_VALUE = encode(push_request(T0, "fcm"))


def letter(
    offset: int,
    *,
    reason: str = "400 INVALID_ARGUMENT: refused",
    at: datetime = T0,
    topic: str = "prod.push.fcm",
    source_offset: int | None = None,
    value: bytes = PUSH_VALUE,
    partition: int = 0,
) -> Parked:
    source = SourceRecord(
        topic=topic,
        partition=2,
        offset=offset if source_offset is None else source_offset,
        key=b"device",
        value=value,
        headers=(SourceHeader(name="herald-signature", value=b"v1=k:00"),),
    )
    dead = DeadLetter(
        event_id=uuid.uuid4(),
        occurred_at=at,
        reason=reason,
        consumer_group="dispatcher-fcm",
        attempts=1,
        source=source,
    )
    return Parked(partition, offset, dead)


UNREADABLE = Parked(0, 9, None, "not a dead letter: not valid JSON")


def chosen(selection: Selection, records: list[Parked]) -> list[int]:
    return [parked.offset for parked in records if selection.chooses(parked)]


def test_no_filter_chooses_everything_and_says_it_was_not_narrowed() -> None:
    records = [letter(1), letter(2), UNREADABLE]

    assert chosen(Selection(), records) == [1, 2, 9]
    assert not Selection().narrowed
    assert Selection(offsets=frozenset({3})).narrowed


def test_reason_matches_a_part_in_any_case() -> None:
    records = [
        letter(1, reason="400 INVALID_ARGUMENT: x"),
        letter(2, reason="handler failed"),
        UNREADABLE,
    ]

    assert chosen(Selection(reason="invalid_argument"), records) == [1]
    assert chosen(Selection(reason="400 INVALID_ARGUMENT: x"), records) == [1]


def test_time_range_takes_since_and_leaves_until_out() -> None:
    records = [letter(n, at=T0 + timedelta(minutes=n)) for n in range(4)] + [UNREADABLE]
    selection = Selection(since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3))

    assert chosen(selection, records) == [1, 2]


def test_offsets_and_partition_narrow_together() -> None:
    records = [letter(1), letter(2), letter(2, partition=1), UNREADABLE]

    assert chosen(Selection(offsets=frozenset({2, 9})), records) == [2, 2, 9]
    assert chosen(Selection(offsets=frozenset({2}), partition=1), records) == [2]
    assert Selection(offsets=frozenset({7, 3})).first_offset == 3


def test_a_letter_belongs_to_the_app_its_rejection_or_original_value_names() -> None:
    rejected = NotificationRejected(
        event_id=uuid.uuid4(),
        occurred_at=T0,
        app_id="shop",
        reason="bad",
        source=SourceRecord(
            topic="prod.notifications.submitted", partition=0, offset=1, value=b"{"
        ),
    )

    def app_of_value(value: bytes) -> str | None:
        parked = letter(1, value=value)
        assert parked.letter is not None
        return app_of(parked.letter)

    assert app_of_value(PUSH_VALUE) == push_request(T0, "fcm").app_id
    assert app_of(rejected) == "shop"
    assert app_of_value(b"not json") is None
    assert app_of_value(b'{"app_id": 7}') is None
    assert app_of_value(b"[1]") is None


def test_an_app_sees_only_the_letters_naming_it() -> None:
    owner = push_request(T0, "fcm").app_id
    records = [
        letter(1),
        letter(2, value=b'{"app_id": "other"}'),
        letter(3, value=b"x"),
        UNREADABLE,
    ]

    assert chosen(Selection(app_id=owner), records) == [1]
    assert chosen(Selection(app_id="other"), records) == [2]


def test_a_replay_is_the_original_record_with_its_headers_and_where_it_was_parked() -> None:
    parked = letter(4)

    [step] = plan([parked], PUSH_DLQ, prefix=PREFIX, address="prod.push.fcm.dlq")

    assert step == Replay(
        parked,
        "prod.push.fcm",
        b"device",
        PUSH_VALUE,
        (
            ("herald-signature", b"v1=k:00"),
            (REPLAYED_FROM_HEADER, b"prod.push.fcm.dlq/0:4"),
        ),
    )


def test_records_that_cannot_go_back_are_skipped_with_the_reason() -> None:
    records = [
        UNREADABLE,
        letter(1, topic="staging.push.fcm"),
        letter(2, topic="prod.push.apns"),
        letter(3, topic="prod.no.such.topic"),
        letter(4, reason="failed (value cut to its first 10 of 20 bytes)"),
        letter(5, value=b'{"type": "push.request"'),
        letter(6, source_offset=40),
        letter(7, source_offset=40),
    ]

    steps = list(plan(records, PUSH_DLQ, prefix=PREFIX, address="prod.push.fcm.dlq"))
    why = {step.parked.offset: step.why for step in steps if isinstance(step, Skip)}

    assert [step.parked.offset for step in steps if isinstance(step, Replay)] == [6]
    assert why[9] == "not a dead letter: not valid JSON"
    assert "outside this deployment's prefix" in why[1]
    assert why[2] == "push.apns parks on push.apns.dlq, not on push.fcm.dlq"
    assert "not a topic of the catalog" in why[3]
    assert "value was cut" in why[4]
    assert why[5].startswith("still not a valid push.fcm message: not valid JSON")
    assert why[7] == "the same record as 0:6, replayed once"


def test_a_compacted_state_is_never_replayed() -> None:
    parking = topics.by_name("users.preferences.dlq")
    stale = letter(1, topic="prod.users.preferences")

    [step] = plan([stale], parking, prefix=PREFIX, address="prod.users.preferences.dlq")

    assert isinstance(step, Skip)
    assert step.why.startswith("users.preferences is compacted")


def test_a_rejected_submission_goes_back_to_its_intake_topic() -> None:
    submitted = b'{"type": "notification.submitted", "version": 1}'
    rejected = NotificationRejected(
        event_id=uuid.uuid4(),
        occurred_at=T0,
        reason="herald-signature: no signature",
        source=SourceRecord(
            topic="prod.notifications.submitted", partition=0, offset=1, value=submitted
        ),
    )
    parked = read_letter(topics.REJECTED, 0, 3, encode(rejected))

    [step] = plan([parked], topics.REJECTED, prefix=PREFIX, address="prod.notifications.rejected")

    assert isinstance(step, Skip)
    assert step.why.startswith("still not a valid notifications.submitted message")
    assert read_letter(topics.REJECTED, 0, 4, b"{").problem is not None


def test_the_parked_step_names_the_push_and_cuts_a_long_reason() -> None:
    push = push_request(T0, "fcm", attempt=3)

    step = parked_step(push, topics.RETRY["fcm"], "x" * 600, T0)

    assert step is not None
    assert (step.stage, step.notification_id, step.user_id, step.device_id) == (
        "parked",
        push.notification_id,
        push.user_id,
        push.device_id,
    )
    assert (step.platform, step.attempt, len(step.reason or "")) == (
        "fcm",
        3,
        MAX_REASON_CHARS,
    )
    assert step == parked_step(push, topics.RETRY["fcm"], "x" * 600, T0)


def test_no_parked_step_for_trace_events_sync_pushes_or_messages_without_a_notification() -> None:
    notification = due(T0, "alice")
    sync = push_request(T0, "fcm", sync=BadgeSync(badge=1, badge_seq=1))
    traced = parked_step(notification, topics.DUE, "failed", T0)

    assert traced is not None
    assert (traced.user_id, traced.device_id) == ("alice", None)
    assert parked_step(traced, topics.TRACE, "failed", T0) is None
    assert parked_step(sync, topics.PUSH["fcm"], "failed", T0) is None
    dead_letter = letter(1).letter
    assert dead_letter is not None
    assert parked_step(dead_letter, topics.RESULTS, "failed", T0) is None
