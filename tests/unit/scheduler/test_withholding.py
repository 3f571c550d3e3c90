"""Category opt-outs and frequency caps as the release loop applies them, time passed in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.categories import CategoryRules, FrequencyCap
from contracts.notifications import UserNotification
from services.scheduler import withholding
from services.scheduler.withholding import Counted
from tests.support.factories import user_notification

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
THREE_A_DAY = CategoryRules(cap=FrequencyCap(limit=3, window_seconds=86_400))


def copy(user: str = "ana", **fields: Any) -> UserNotification:
    return user_notification(NOW, user_id=user, **fields)


def marketing(user: str = "ana", **fields: Any) -> UserNotification:
    return copy(user, category="marketing", category_rules=THREE_A_DAY, **fields)


def test_an_opted_out_category_is_withheld_and_other_users_and_categories_are_not() -> None:
    choices = {("testapp", "ana"): {"marketing": False, "orders": True}}
    copies = [marketing("ana"), copy("ana", category="orders"), marketing("bob"), copy("ana")]

    reasons = withholding.judge(copies, choices, {}, NOW).reasons

    assert reasons == ["category_opt_out", None, None, None]


def test_a_category_off_by_default_reaches_only_users_who_opted_in() -> None:
    digest = CategoryRules(default_enabled=False)
    copies = [copy(u, category="digest", category_rules=digest) for u in ("ana", "bob")]

    reasons = withholding.judge(copies, {("testapp", "bob"): {"digest": True}}, {}, NOW).reasons

    assert reasons == ["category_opt_out", None]


def test_transactional_copies_pass_opt_outs_and_caps_and_are_not_counted() -> None:
    choices = {("testapp", "ana"): {"marketing": False}}
    full = {("testapp", "marketing", "ana"): [Counted(uuid.uuid4(), NOW)] * 3}

    verdicts = withholding.judge([marketing(transactional=True)], choices, full, NOW)

    assert verdicts.reasons == [None]
    assert verdicts.newly_counted == []


def test_the_cap_lets_n_through_per_window_and_withholds_the_rest() -> None:
    copies = [marketing() for _ in range(5)]

    verdicts = withholding.judge(copies, {}, {}, NOW)

    assert verdicts.reasons == [None, None, None, "frequency_cap", "frequency_cap"]
    assert [push.notification_id for _, push in verdicts.newly_counted] == [
        c.notification_id for c in copies[:3]
    ]


def test_the_window_rolls_pushes_older_than_it_stop_counting() -> None:
    key = ("testapp", "marketing", "ana")
    old = [Counted(uuid.uuid4(), NOW - timedelta(days=1, seconds=1)) for _ in range(3)]
    edge = [Counted(uuid.uuid4(), NOW - timedelta(days=1))]
    recent = [Counted(uuid.uuid4(), NOW - timedelta(hours=1)) for _ in range(2)]

    assert withholding.judge([marketing()], {}, {key: old + recent}, NOW).reasons == [None]
    assert withholding.judge([marketing()], {}, {key: edge + recent}, NOW).reasons == [None]
    assert withholding.judge([marketing()], {}, {key: recent * 2}, NOW).reasons == ["frequency_cap"]


def test_a_notification_already_counted_for_the_user_goes_out_without_counting_twice() -> None:
    again = marketing()
    key = ("testapp", "marketing", "ana")
    ledger = {key: [Counted(again.notification_id, NOW)] + [Counted(uuid.uuid4(), NOW)] * 2}

    verdicts = withholding.judge([again, marketing()], {}, ledger, NOW)

    assert verdicts.reasons == [None, "frequency_cap"]
    assert verdicts.newly_counted == []


def test_caps_count_per_user_and_per_category() -> None:
    key = ("testapp", "marketing", "ana")
    full = {key: [Counted(uuid.uuid4(), NOW)] * 3}
    news = CategoryRules(cap=FrequencyCap(limit=1, window_seconds=3600))
    copies = [marketing("ana"), marketing("bob"), copy("ana", category="news", category_rules=news)]

    assert withholding.judge(copies, {}, full, NOW).reasons == ["frequency_cap", None, None]
