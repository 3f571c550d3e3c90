"""Ingest's category rules: a named category must exist; its rules travel on every user's copy."""

from __future__ import annotations

import uuid

import pytest

from contracts.categories import Category, CategoryRules, FrequencyCap
from contracts.content import NotificationRequest
from services.ingest import domain
from tests.support.clock import FrozenClock

pytestmark = pytest.mark.unit

DEALS = Category(category_id="deals", cap=FrequencyCap(limit=2, window_seconds=3600))


def request(**fields: object) -> NotificationRequest:
    return NotificationRequest.model_validate(
        {
            "idempotency_key": "k-1",
            "audience": {"user_ids": ["u1", "u2"]},
            "content": {"title": "T"},
            **fields,
        }
    )


def test_an_unknown_category_is_refused_naming_it() -> None:
    with pytest.raises(domain.RequestProblem) as caught:
        domain.category_rules(request(category="dealz"), None)

    assert caught.value.field == "category"
    assert "'dealz'" in caught.value.message


def test_the_categorys_rules_and_the_transactional_flag_reach_every_users_copy() -> None:
    now = FrozenClock().now()
    asked = request(category="deals", transactional=True)
    rules = domain.category_rules(asked, DEALS)

    copies = list(domain.expand("app", asked, uuid.uuid4(), now, now, rules))

    assert rules == CategoryRules(cap=DEALS.cap)
    assert {(c.category, c.transactional, c.category_rules) for c in copies} == {
        ("deals", True, rules)
    }
    assert domain.category_rules(request(), None) is None


def test_the_category_counts_in_the_fingerprint_only_when_given() -> None:
    plain, with_category = request(), request(category="deals")

    assert domain.fingerprint(plain) != domain.fingerprint(with_category)
    assert domain.fingerprint(plain) == domain.fingerprint(request(transactional=False))
