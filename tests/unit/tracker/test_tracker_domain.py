"""Counting a notification's steps: each counted once, the same answer in any order."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.content import Content
from contracts.trace import NotificationTraced, Stage
from services.tracker import domain
from services.tracker.store import progress_from_json, progress_json

pytestmark = pytest.mark.unit

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
NOTIFICATION = uuid.uuid4()
PHONE, TABLET, LAPTOP = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def step(
    stage: Stage,
    minute: int,
    user: str | None = None,
    device: uuid.UUID | None = None,
    **fields: Any,
) -> NotificationTraced:
    return NotificationTraced.step(
        stage,
        app_id="shop",
        notification_id=NOTIFICATION,
        occurred_at=T0 + timedelta(minutes=minute),
        user_id=user,
        device_id=device,
        **fields,
    )


def accepted(users: int) -> NotificationTraced:
    return step("accepted", 0, users=users, idempotency_key="k", content=Content(title="Hi"))


def alice() -> list[NotificationTraced]:
    """Two devices: the phone gets it and opens it, the tablet's token is dead on a retry."""
    return [
        step("released", 1, "alice"),
        step("counted", 1, "alice", badge=3),
        step("fanned_out", 2, "alice", devices={"fcm": 1, "apns": 1}),
        step("sent", 3, "alice", PHONE, platform="fcm", outcome="delivered", attempt=1),
        step("opened", 9, "alice", PHONE, platform="fcm"),
        step("retry_scheduled", 3, "alice", TABLET, platform="apns", attempt=1, reason="503"),
        step(
            "sent",
            5,
            "alice",
            TABLET,
            platform="apns",
            outcome="token_invalid",
            reason="Unregistered",
            provider_status=410,
            attempt=2,
        ),
        step("token_deactivated", 5, "alice", TABLET, platform="apns"),
    ]


def everyone() -> list[NotificationTraced]:
    return [
        accepted(4),
        *alice(),
        step("held", 1, "bob", reason="quiet_hours"),
        step("withheld", 1, "carol", reason="category_off"),
        step("released", 1, "dave"),
        step("counted", 1, "dave"),
        step("no_device", 2, "dave"),
    ]


def test_each_stage_is_counted_per_user_or_per_device() -> None:
    summary = domain.summarize(everyone())
    counts = summary.counts

    assert summary.accepted is not None
    assert summary.accepted.users == 4
    assert (counts.users, counts.settled, counts.waiting) == (4, 3, 1)
    assert counts.devices_expected == 2
    assert (counts.held, counts.released, counts.no_device) == (1, 2, 1)
    assert (counts.sent, counts.delivered, counts.opened) == (2, 1, 1)
    assert counts.failed == {"Unregistered": 1}
    assert counts.withheld == {"category_off": 1}
    assert counts.token_deactivated == 1
    assert counts.open_rate == 1.0
    assert [s.stage for s in domain.summarize(everyone()).steps] == ["accepted"]


def test_repeats_and_any_arrival_order_give_the_same_answer() -> None:
    steps = everyone()
    expected = domain.summarize(steps)
    shuffled = steps * 3
    for seed in range(20):
        random.Random(seed).shuffle(shuffled)
        assert domain.summarize(shuffled) == expected


def test_a_later_failure_never_undoes_a_delivery_and_the_last_attempt_names_the_failure() -> None:
    first_try = step("sent", 1, "alice", PHONE, outcome="failed", reason="Internal", attempt=1)
    delivered = step("sent", 2, "alice", PHONE, outcome="delivered", attempt=2)
    late_failure = step("sent", 3, "alice", TABLET, outcome="failed", reason="Gone", attempt=2)
    early_failure = step("sent", 4, "alice", TABLET, outcome="failed", reason="Busy", attempt=1)

    counts = domain.summarize([delivered, first_try, early_failure, late_failure]).counts

    assert (counts.sent, counts.delivered) == (2, 1)
    assert counts.failed == {"Gone": 1}


def test_status_follows_the_users_still_to_settle() -> None:
    assert domain.summarize([accepted(2)]).status == "accepted"
    held = [accepted(2), step("held", 1, "bob"), step("held", 1, "erin")]
    assert domain.summarize(held).status == "held"
    assert domain.summarize(held[:2]).status == "in_progress"
    assert domain.summarize([*held, step("released", 2, "bob")]).status == "in_progress"
    assert domain.summarize(everyone()).status == "held"  # only bob is left, on a hold
    settled = [accepted(3), *alice(), step("withheld", 1, "carol"), step("no_device", 1, "dave")]
    assert domain.summarize(settled).status == "done"


def test_a_streamed_audience_is_done_once_the_users_the_registry_reached_are_settled() -> None:
    streamed = step("accepted", 0, idempotency_key="k", content=Content(title="Hi"))
    settled = [streamed, step("withheld", 1, "carol"), step("no_device", 1, "dave")]

    assert domain.summarize(settled).status == "in_progress"
    done = domain.summarize([*settled, step("targeted", 2, users=2)])
    assert (done.status, done.users_targeted) == ("done", 2)


def test_a_user_fanned_out_to_devices_is_settled_only_once_every_device_answered() -> None:
    pending = [step for step in alice() if step.device_id != TABLET]
    assert not domain.tally(pending).settled
    assert domain.tally(alice()).settled
    assert not domain.tally([step("withheld", 1, "alice", platform="apns")]).settled


def test_a_channel_opt_out_ends_the_user_only_when_no_other_device_was_pushed_to() -> None:
    opted_out = step("withheld", 2, "alice", reason="channel_opt_out", devices={"webpush": 1})
    pushed_elsewhere = [step("fanned_out", 2, "alice", devices={"fcm": 1}), opted_out]
    answered = [
        *pushed_elsewhere,
        step("sent", 3, "alice", PHONE, platform="fcm", outcome="delivered", attempt=1),
    ]

    assert not domain.tally(pushed_elsewhere).settled
    assert domain.tally(answered).settled
    assert domain.tally([opted_out]).settled


def test_opens_count_only_on_devices_it_was_delivered_to_and_fill_no_inbox() -> None:
    forged = step("opened", 4, "mallory", LAPTOP, platform="webpush")
    failed_then_opened = [
        step("fanned_out", 2, "alice", devices={"apns": 1}),
        step("sent", 3, "alice", TABLET, platform="apns", outcome="failed", attempt=1),
        step("opened", 4, "alice", TABLET, platform="apns"),
    ]

    assert domain.tally(alice()).opened == 1
    assert domain.tally([forged]).opened == 0
    assert domain.tally(failed_then_opened).opened == 0
    assert domain.reaches([forged]) == {}


def test_tallies_add_up_number_by_number_and_reason_by_reason() -> None:
    left = domain.Tally(users=1, sent=2, failed={"Gone": 1}, withheld={"quiet": 1})
    right = domain.Tally(users=1, sent=1, failed={"Gone": 2, "Busy": 1})

    assert left + right == domain.Tally(
        users=2, sent=3, failed={"Busy": 1, "Gone": 3}, withheld={"quiet": 1}
    )


def test_a_difference_undoes_a_sum_and_drops_reasons_that_do_not_change() -> None:
    before = domain.Tally(users=1, sent=2, delivered=1, failed={"Gone": 1}, withheld={"quiet": 1})
    after = domain.Tally(users=1, sent=2, delivered=2, withheld={"quiet": 1, "opt_out": 1})

    change = after - before

    assert change == domain.Tally(delivered=1, failed={"Gone": -1}, withheld={"opt_out": 1})
    assert before + change == after
    assert after - after == domain.Tally()


def test_total_changes_add_up_per_notification_and_leave_out_what_did_not_move() -> None:
    other = uuid.uuid4()
    alice, bob = ("shop", NOTIFICATION, "alice"), ("shop", NOTIFICATION, "bob")
    carol = ("shop", other, "carol")
    delivered = domain.Tally(users=1, settled=1, sent=1, delivered=1)
    failed = domain.Tally(users=1, settled=1, sent=1, failed={"Gone": 1})

    changes = domain.total_changes(
        {alice: delivered, bob: failed, carol: delivered},
        {alice: failed, carol: delivered},
    )

    # alice's failure turned into a delivery, bob's first tally is a failure for the same reason
    assert changes == {
        ("shop", NOTIFICATION): domain.Tally(users=1, settled=1, sent=1, delivered=1)
    }


REASONS = st.dictionaries(st.sampled_from(["Gone", "Busy", "quiet"]), st.integers(1, 3))


@st.composite
def user_tallies(draw: st.DrawFn) -> domain.Tally:
    numbers = {
        f.name: draw(st.integers(0, 3))
        for f in fields(domain.Tally)
        if f.name not in {"users", "failed", "withheld"}
    }
    return domain.Tally(
        users=1, **numbers, failed=dict(sorted(draw(REASONS).items())), withheld=draw(REASONS)
    )


@given(st.lists(st.tuples(st.sampled_from(["alice", "bob", "carol"]), user_tallies())))
def test_totals_moved_by_each_change_equal_the_sum_of_the_final_tallies(
    replacements: list[tuple[str, domain.Tally]],
) -> None:
    stored: dict[domain.UserTallyKey, domain.Tally] = {}
    total = domain.Tally()
    for user, tally in replacements:
        key = ("shop", NOTIFICATION, user)
        changes = domain.total_changes({key: tally}, stored)
        total = total + changes.get(("shop", NOTIFICATION), domain.Tally())
        stored[key] = tally

    assert total == sum(stored.values(), domain.Tally())
    assert list(total.failed) == sorted(total.failed)
    assert 0 not in total.failed.values()
    assert 0 not in total.withheld.values()


def test_an_exact_tie_between_two_attempts_is_decided_by_the_reason_in_any_order() -> None:
    failed = step("sent", 3, "alice", PHONE, outcome="failed", reason="Internal", attempt=1)
    dead = step(
        "sent", 3, "alice", PHONE, outcome="token_invalid", reason="Unregistered", attempt=1
    )

    assert domain.tally([failed, dead]).failed == {"Unregistered": 1}
    assert domain.tally([dead, failed]).failed == {"Unregistered": 1}
    assert domain.final_send([failed, dead]) == domain.final_send([dead, failed]) == dead


def reference_tally(steps: Sequence[NotificationTraced]) -> domain.Tally:
    """A user's tally computed from the whole set of their steps at once, as the tracker did
    before it kept progress (8b6305c), exact ties between attempts decided by the reason."""

    def final(sends: list[NotificationTraced]) -> NotificationTraced:
        delivered = [s for s in sends if s.outcome == "delivered"]
        if delivered:
            return delivered[0]
        return max(sends, key=lambda s: (s.attempt or 0, s.occurred_at, domain.failure_of(s)))

    def ends_user(each: NotificationTraced, fanned_out: bool) -> bool:
        if each.device_id is not None:
            return False
        if each.stage in domain.USER_ENDS:
            return True
        if each.stage == "withheld" and each.devices:
            return not fanned_out
        return each.stage in {"withheld", "parked"} and each.platform is None

    own = {each.stage for each in steps if each.device_id is None}
    devices: dict[str, set[uuid.UUID]] = defaultdict(set)
    sends: dict[uuid.UUID | None, list[NotificationTraced]] = defaultdict(list)
    withheld: dict[str, set[tuple[uuid.UUID | None, str | None]]] = defaultdict(set)
    for each in steps:
        if each.device_id is not None:
            devices[each.stage].add(each.device_id)
        if each.stage == "sent":
            sends[each.device_id].append(each)
        elif each.stage == "withheld":
            withheld[each.reason or "unspecified"].add((each.device_id, each.platform))
    finals = {device: final(attempts) for device, attempts in sends.items()}
    failed: dict[str, int] = defaultdict(int)
    for answer in finals.values():
        if answer.outcome != "delivered":
            failed[domain.failure_of(answer)] += 1
    expected = max(
        (sum(s.devices.values()) for s in steps if s.stage == "fanned_out"), default=None
    )
    answered = set().union(*(devices[stage] for stage in domain.DEVICE_ENDS))
    delivered_to = {device for device, answer in finals.items() if answer.outcome == "delivered"}
    stages = {each.stage for each in steps}
    return domain.Tally(
        users=1,
        settled=int(
            any(ends_user(each, bool(expected)) for each in steps)
            or (expected is not None and len(answered) >= expected)
        ),
        waiting=int("held" in stages and not stages & domain.PAST_HOLD),
        devices_expected=expected or 0,
        held=int("held" in own),
        released=int("released" in own),
        expired=int("expired" in own),
        cancelled=int("cancelled" in own),
        no_device=int("no_device" in own),
        sent=len(finals),
        delivered=len(delivered_to),
        token_deactivated=len(devices["token_deactivated"]),
        opened=len(devices["opened"] & delivered_to),
        failed=dict(sorted(failed.items())),
        withheld={reason: len(keys) for reason, keys in sorted(withheld.items())},
    )


#: Every stage of a user's, sends six times as likely (they are what a device's answer turns on).
USER_STAGES = [stage for stage in get_args(Stage) if stage not in {"accepted", "targeted"}]
USER_STAGES += ["sent"] * 6


@st.composite
def user_steps(draw: st.DrawFn) -> list[NotificationTraced]:
    """Any steps of one user within three minutes, so attempts often tie exactly."""
    return [
        step(
            draw(st.sampled_from(USER_STAGES)),
            draw(st.integers(0, 2)),
            "alice",
            draw(st.sampled_from([None, PHONE, TABLET])),
            platform=draw(st.sampled_from([None, "fcm", "apns"])),
            outcome=draw(st.sampled_from([None, "delivered", "failed", "token_invalid"])),
            attempt=draw(st.sampled_from([None, 1, 2])),
            reason=draw(st.sampled_from([None, "Gone", "quiet_hours"])),
            devices=draw(st.dictionaries(st.sampled_from(["fcm", "apns"]), st.integers(0, 2))),
        )
        for _ in range(draw(st.integers(0, 12)))
    ]


@given(user_steps(), st.randoms(use_true_random=False))
def test_a_tally_moved_step_by_step_in_any_order_with_repeats_is_the_one_of_the_whole_set(
    steps: list[NotificationTraced], rng: random.Random
) -> None:
    in_order = domain.Progress()
    for each in steps:
        in_order.add(each)
    shuffled = steps * 2
    rng.shuffle(shuffled)
    any_order = domain.Progress()
    for each in shuffled:
        any_order.add(each)

    assert any_order.tally() == reference_tally(steps)
    assert any_order == in_order
    assert progress_json(any_order) == progress_json(in_order)
    assert progress_from_json(progress_json(any_order)) == any_order


def test_a_users_story_orders_their_steps_once_and_ends_each_device() -> None:
    story = domain.story([*reversed(alice()), *alice()])

    assert [s.stage for s in story.steps] == ["released", "counted", "fanned_out"]
    outcomes = {d.device_id: (d.outcome, d.provider_status, d.reason) for d in story.devices}
    assert outcomes == {
        PHONE: ("delivered", None, None),
        TABLET: ("token_invalid", 410, "Unregistered"),
    }
    tablet = next(d for d in story.devices if d.device_id == TABLET)
    assert [s.stage for s in tablet.steps] == ["retry_scheduled", "sent", "token_deactivated"]
    retrying = domain.device_story([alice()[5]])
    assert (retrying.outcome, retrying.platform) == ("retrying", "apns")


def test_a_notification_reaches_an_inbox_at_its_earliest_step_past_the_badge() -> None:
    reached = domain.reaches([*alice(), step("held", 0, "bob")])

    assert reached == {("shop", "alice", NOTIFICATION): T0 + timedelta(minutes=1)}


def test_a_notification_is_active_until_its_last_step_or_what_it_waits_for() -> None:
    hold = T0 + timedelta(days=40)
    steps = [accepted(1), step("held", 1, "bob", until=hold), step("released", 2, "carol")]

    assert domain.last_active(steps) == {("shop", NOTIFICATION): hold}
    assert domain.last_active(steps[::2]) == {("shop", NOTIFICATION): T0 + timedelta(minutes=2)}


def test_read_by_id_or_by_a_watermark_covering_its_arrival() -> None:
    assert domain.is_read(T0, read_by_id=True, read_up_to=None)
    assert domain.is_read(T0, read_by_id=False, read_up_to=T0)
    assert not domain.is_read(T0, read_by_id=False, read_up_to=T0 - timedelta(seconds=1))
    assert domain.read_mark(None, all_read=True, changed_at=T0) == T0
    assert domain.read_mark(T0, all_read=False, changed_at=T0 + timedelta(hours=1)) == T0
