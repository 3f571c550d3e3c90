"""The scheduler's time rules: local times across DST, quiet hours over midnight, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.users import QuietHours
from services.scheduler import domain
from services.scheduler.domain import Preferences
from tests.support.factories import user_notification

pytestmark = pytest.mark.unit

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
SYDNEY = ZoneInfo("Australia/Sydney")
NIGHT = QuietHours(start=time(22), end=time(7))
ACCEPTED = datetime(2026, 3, 1, 12, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def scheduled(**schedule: Any) -> Any:
    options = schedule.pop("options", {})
    return user_notification(ACCEPTED, schedule=schedule or None, options=options)


@pytest.mark.parametrize(
    ("zone", "wall", "expected"),
    [
        (NEW_YORK, datetime(2026, 1, 15, 9, 0), utc(2026, 1, 15, 14, 0)),
        (NEW_YORK, datetime(2026, 7, 15, 9, 0), utc(2026, 7, 15, 13, 0)),
        (BERLIN, datetime(2026, 1, 15, 9, 0), utc(2026, 1, 15, 8, 0)),
        (BERLIN, datetime(2026, 7, 15, 9, 0), utc(2026, 7, 15, 7, 0)),
        (SYDNEY, datetime(2026, 1, 15, 9, 0), utc(2026, 1, 14, 22, 0)),
        (SYDNEY, datetime(2026, 7, 15, 9, 0), utc(2026, 7, 14, 23, 0)),
    ],
)
def test_a_local_time_follows_the_zone_offset_of_its_date(
    zone: ZoneInfo, wall: datetime, expected: datetime
) -> None:
    assert domain.local_instant(wall, zone) == expected


@pytest.mark.parametrize(
    ("zone", "wall", "shown_as"),
    [
        # 2026-03-08 02:00 EST -> 03:00 EDT: 02:30 never happens in New York.
        (NEW_YORK, datetime(2026, 3, 8, 2, 30), datetime(2026, 3, 8, 3, 30)),
        # 2026-03-29 02:00 CET -> 03:00 CEST: 02:30 never happens in Berlin.
        (BERLIN, datetime(2026, 3, 29, 2, 30), datetime(2026, 3, 29, 3, 30)),
        # 2026-10-04 02:00 AEST -> 03:00 AEDT in Sydney.
        (SYDNEY, datetime(2026, 10, 4, 2, 15), datetime(2026, 10, 4, 3, 15)),
    ],
)
def test_a_time_in_a_dst_gap_moves_forward_by_the_gap(
    zone: ZoneInfo, wall: datetime, shown_as: datetime
) -> None:
    instant = domain.local_instant(wall, zone)

    assert instant.astimezone(zone).replace(tzinfo=None) == shown_as


@pytest.mark.parametrize(
    ("zone", "wall", "first"),
    [
        # 2026-11-01 02:00 EDT -> 01:00 EST: 01:30 happens at 05:30Z and again at 06:30Z.
        (NEW_YORK, datetime(2026, 11, 1, 1, 30), utc(2026, 11, 1, 5, 30)),
        # 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 happens at 00:30Z and again at 01:30Z.
        (BERLIN, datetime(2026, 10, 25, 2, 30), utc(2026, 10, 25, 0, 30)),
        # 2026-04-05 03:00 AEDT -> 02:00 AEST: 02:30 happens at 15:30Z and again at 16:30Z.
        (SYDNEY, datetime(2026, 4, 5, 2, 30), utc(2026, 4, 4, 15, 30)),
    ],
)
def test_a_time_in_a_dst_fold_is_its_first_occurrence(
    zone: ZoneInfo, wall: datetime, first: datetime
) -> None:
    assert domain.local_instant(wall, zone) == first
    assert domain.next_local_instant(wall, zone, after=first) == first + timedelta(hours=1)


def test_local_time_uses_the_users_zone_then_the_senders_then_utc() -> None:
    notification = scheduled(local_time="2026-03-02T09:00:00", time_zone="Europe/Berlin")

    own = domain.plan(notification, Preferences(time_zone="America/New_York"))
    senders = domain.plan(notification, Preferences())
    plain = domain.plan(scheduled(local_time="2026-03-02T09:00:00"), Preferences())

    assert own.target_at == utc(2026, 3, 2, 14, 0)
    assert senders.target_at == utc(2026, 3, 2, 8, 0)
    assert plain.target_at == utc(2026, 3, 2, 9, 0)


def test_one_local_time_is_one_instant_per_zone_across_a_dst_change() -> None:
    notification = scheduled(local_time="2026-03-08T09:00:00")

    new_york = domain.plan(notification, Preferences(time_zone="America/New_York"))
    berlin = domain.plan(notification, Preferences(time_zone="Europe/Berlin"))

    assert new_york.release_at == utc(2026, 3, 8, 13, 0)  # EDT since 02:00 that morning
    assert berlin.release_at == utc(2026, 3, 8, 8, 0)  # still CET


def test_without_a_schedule_the_target_is_acceptance() -> None:
    plan = domain.plan(user_notification(ACCEPTED), domain.NO_PREFERENCES)

    assert plan == domain.Plan(ACCEPTED, ACCEPTED, None)


@pytest.mark.parametrize(
    ("local", "expected_local"),
    [
        (datetime(2026, 1, 15, 23, 0), datetime(2026, 1, 16, 7, 0)),
        (datetime(2026, 1, 15, 22, 0), datetime(2026, 1, 16, 7, 0)),
        (datetime(2026, 1, 16, 3, 0), datetime(2026, 1, 16, 7, 0)),
        (datetime(2026, 1, 16, 6, 59), datetime(2026, 1, 16, 7, 0)),
        (datetime(2026, 1, 16, 7, 0), datetime(2026, 1, 16, 7, 0)),
        (datetime(2026, 1, 16, 12, 0), datetime(2026, 1, 16, 12, 0)),
        (datetime(2026, 1, 16, 21, 59), datetime(2026, 1, 16, 21, 59)),
    ],
)
def test_quiet_hours_across_midnight_defer_to_the_morning(
    local: datetime, expected_local: datetime
) -> None:
    instant = local.replace(tzinfo=BERLIN).astimezone(UTC)

    released = domain.after_quiet_hours(instant, BERLIN, NIGHT)

    assert released.astimezone(BERLIN).replace(tzinfo=None) == expected_local


def test_a_daytime_window_ends_the_same_day() -> None:
    nap = QuietHours(start=time(13), end=time(15))
    instant = datetime(2026, 1, 15, 14, tzinfo=NEW_YORK).astimezone(UTC)

    assert domain.after_quiet_hours(instant, NEW_YORK, nap) == utc(2026, 1, 15, 20, 0)


def test_a_window_ending_in_a_dst_gap_ends_when_the_clock_shows_it_later() -> None:
    short_night = QuietHours(start=time(23), end=time(2, 30))
    instant = datetime(2026, 3, 8, 1, 0, tzinfo=NEW_YORK).astimezone(UTC)

    released = domain.after_quiet_hours(instant, NEW_YORK, short_night)

    assert released.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, 3, 8, 3, 30)


def test_a_window_ending_in_a_fold_never_releases_inside_the_repeated_hour() -> None:
    window = QuietHours(start=time(22), end=time(1, 30))
    second_pass = utc(2026, 11, 1, 6, 10)  # 01:10 EST, after the clocks went back

    released = domain.after_quiet_hours(second_pass, NEW_YORK, window)

    assert released == utc(2026, 11, 1, 6, 30)  # 01:30 EST, the second 01:30


@given(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
    st.sampled_from([NEW_YORK, BERLIN, SYDNEY]),
    st.times(),
    st.times(),
)
def test_released_copies_are_never_early_nor_inside_the_window(
    moment: datetime, zone: ZoneInfo, start: time, end: time
) -> None:
    if start == end:
        return
    window = QuietHours(start=start, end=end)
    instant = moment.replace(tzinfo=UTC)

    released = domain.after_quiet_hours(instant, zone, window)

    assert released >= instant
    assert released - instant <= timedelta(hours=25)
    local = released.astimezone(zone)
    window_end = domain.local_instant(datetime.combine(local.date(), end), zone)
    assert not domain.in_quiet_hours(local.time(), window) or released == window_end


def test_quiet_hours_apply_in_the_users_zone_unless_urgent() -> None:
    preferences = Preferences(time_zone="Europe/Berlin", quiet_hours=NIGHT)
    late = utc(2026, 3, 2, 22, 30)  # 23:30 in Berlin

    deferred = domain.plan(scheduled(send_at=late), preferences)
    urgent = domain.plan(scheduled(send_at=late, urgent=True), preferences)

    assert deferred.release_at == utc(2026, 3, 3, 6, 0)  # 07:00 CET
    assert urgent.release_at == late


def test_ttl_counts_from_the_time_asked_for() -> None:
    plan = domain.plan(
        scheduled(send_at=utc(2026, 3, 5, 9), options={"ttl_seconds": 7200}), Preferences()
    )

    assert plan.deadline == utc(2026, 3, 5, 11)
    assert not plan.expired


def test_the_earlier_of_ttl_and_expires_at_is_the_deadline() -> None:
    notification = scheduled(
        send_at=utc(2026, 3, 5, 9), expires_at=utc(2026, 3, 5, 10), options={"ttl_seconds": 7200}
    )

    assert domain.plan(notification, Preferences()).deadline == utc(2026, 3, 5, 10)


def test_ttl_zero_is_the_providers_now_or_never_not_a_deadline() -> None:
    plan = domain.plan(
        scheduled(send_at=utc(2026, 3, 5, 9), options={"ttl_seconds": 0}), Preferences()
    )

    assert plan.deadline is None


def test_quiet_hours_past_the_deadline_expire_the_copy_at_once() -> None:
    preferences = Preferences(time_zone="Europe/Berlin", quiet_hours=NIGHT)
    notification = scheduled(send_at=utc(2026, 3, 2, 22), options={"ttl_seconds": 7200})

    plan = domain.plan(notification, preferences)

    assert plan.expired
    assert domain.act_at(plan, ACCEPTED) == ACCEPTED


def test_pacing_spreads_slots_at_the_rate_and_respects_quiet_hours() -> None:
    preferences = Preferences(
        time_zone="UTC", quiet_hours=QuietHours(start=time(9, 1), end=time(10))
    )
    notification = scheduled(send_at=utc(2026, 3, 2, 9), rate_per_minute=120)

    first = domain.plan(notification, preferences, domain.pace_offset(0, 120))
    second = domain.plan(notification, preferences, domain.pace_offset(1, 120))
    late = domain.plan(notification, preferences, domain.pace_offset(120, 120))

    assert domain.pace_offset(1, 120) == timedelta(seconds=0.5)
    assert first.release_at == utc(2026, 3, 2, 9)
    assert second.release_at == utc(2026, 3, 2, 9, 0, 0) + timedelta(seconds=0.5)
    assert late.release_at == utc(2026, 3, 2, 10)


def test_a_plan_says_which_rule_set_its_release() -> None:
    night = Preferences(time_zone="UTC", quiet_hours=QuietHours(start=time(9, 1), end=time(10)))
    later = scheduled(send_at=utc(2026, 3, 2, 9), rate_per_minute=120)

    asked = domain.plan(later, night)
    paced = domain.plan(later, night, domain.pace_offset(1, 120))
    paced_into_the_night = domain.plan(later, night, domain.pace_offset(120, 120))
    sent_at_night = domain.plan(scheduled(send_at=utc(2026, 3, 2, 9, 30)), night)

    assert [asked.held_by, paced.held_by, paced_into_the_night.held_by] == [
        "schedule",
        "pacing",
        "quiet_hours",
    ]
    assert sent_at_night.held_by == "quiet_hours"


def test_only_a_copy_that_waits_past_now_is_held() -> None:
    waits = domain.Plan(ACCEPTED, ACCEPTED + timedelta(hours=1), None, "quiet_hours")
    goes_now = domain.Plan(ACCEPTED, ACCEPTED, None)
    misses_its_deadline = domain.Plan(ACCEPTED, ACCEPTED + timedelta(hours=2), ACCEPTED)

    assert domain.hold_reason(waits, ACCEPTED) == "quiet_hours"
    assert domain.hold_reason(goes_now, ACCEPTED) is None
    assert domain.hold_reason(misses_its_deadline, ACCEPTED) is None
