"""Ingest's pure rules: limits, fingerprints, ids and fan-out."""

from __future__ import annotations

import pytest

from contracts.content import NotificationRequest
from services.ingest import domain
from tests.support.clock import FrozenClock

pytestmark = pytest.mark.unit


def request(**content: object) -> NotificationRequest:
    return NotificationRequest.model_validate(
        {
            "idempotency_key": "k-1",
            "audience": {"user_ids": ["u1", "u2", "u1"]},
            "content": content or {"title": "T", "body": "B"},
        }
    )


def test_duplicate_recipients_are_sent_once() -> None:
    assert request().audience.user_ids == ["u1", "u2"]


def test_oversize_content_names_the_limit() -> None:
    big = request(title="t", data={f"key{i}": "v" * 500 for i in range(10)})

    with pytest.raises(domain.RequestProblem) as caught:
        domain.check(big, max_content_bytes=4000)

    assert caught.value.field == "content"
    assert "the limit is 4000 bytes" in caught.value.message


def test_empty_content_is_refused() -> None:
    with pytest.raises(domain.RequestProblem, match="title or body"):
        domain.check(request(sound="ping"), max_content_bytes=4000)


def test_silent_push_with_data_is_fine() -> None:
    domain.check(request(data={"sync": "1"}), max_content_bytes=4000)


def test_fingerprint_ignores_the_key_but_not_the_body() -> None:
    first = request()
    same_body_other_key = first.model_copy(update={"idempotency_key": "k-2"})
    other_body = request(title="Other", body="B")

    assert domain.fingerprint(first) == domain.fingerprint(same_body_other_key)
    assert domain.fingerprint(first) != domain.fingerprint(other_body)


def test_ids_are_stable_per_app_and_key() -> None:
    assert domain.notification_id("a", "k") == domain.notification_id("a", "k")
    assert domain.notification_id("a", "k") != domain.notification_id("b", "k")


def test_expansion_gives_one_stable_event_per_user() -> None:
    now = FrozenClock().now()
    nid = domain.notification_id("app", "k-1")

    events = list(domain.expand("app", request(), nid, now, now))
    again = list(domain.expand("app", request(), nid, now, now))

    assert [e.user_id for e in events] == ["u1", "u2"]
    assert [e.event_id for e in events] == [e.event_id for e in again]
    assert len({e.event_id for e in events}) == 2
