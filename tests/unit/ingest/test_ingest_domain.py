"""Ingest's pure rules: limits, fingerprints, ids and fan-out."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from pydantic import ValidationError

from contracts.content import DeliveryOptions, NotificationRequest
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


def test_each_localized_variant_is_sized_as_a_device_gets_it_and_named() -> None:
    variants = {tag: {"title": "t", "body": "b" * 1500} for tag in ("fr", "de", "it")}
    fits = request(title="t", body="b" * 1500, localized=variants)
    big = request(title="t", localized={**variants, "pt-BR": {"title": "t", "body": "b" * 2048}})
    domain.check(fits, max_content_bytes=2000)

    with pytest.raises(domain.RequestProblem) as caught:
        domain.check(big, max_content_bytes=2000)

    assert caught.value.field == "content.localized.pt-BR"
    assert "the limit is 2000 bytes" in caught.value.message


def test_a_variants_button_titles_count_toward_its_size() -> None:
    actions = [{"id": f"a{n}", "title": f"A{n}"} for n in range(3)]
    long_titles = {f"a{n}": "€" * 64 for n in range(3)}
    fits = request(title="T", category="C", actions=actions, localized={"de": {"title": "D"}})
    big = request(
        title="T",
        category="C",
        actions=actions,
        localized={"de": {"title": "D"}, "fr": {"title": "F", "action_titles": long_titles}},
    )
    domain.check(fits, max_content_bytes=400)

    with pytest.raises(domain.RequestProblem) as caught:
        domain.check(big, max_content_bytes=400)

    assert caught.value.field == "content.localized.fr"


def test_a_variant_without_button_titles_serializes_as_before_them() -> None:
    sent = request(title="T", localized={"fr": {"title": "F"}})

    assert '"fr":{"title":"F","body":null,"subtitle":null}}' in sent.content.model_dump_json()


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


def test_a_fingerprint_recorded_by_an_earlier_release_still_matches() -> None:
    """The digest the release before localized variants and actions recorded for this request:
    a retry after an upgrade must be recognised, not refused as a conflict."""
    recorded = "8a82607f037a52675ae8ed51629025e2f27c789bfbde2fe5ca090be9fb0d6087"
    sent = NotificationRequest.model_validate(
        {
            "idempotency_key": "k",
            "audience": {"user_ids": ["alice", "bob"]},
            "content": {"title": "Sale", "body": "20% off", "data": {"sku": "42"}},
            "options": {"ttl_seconds": 3600},
        }
    )

    assert domain.fingerprint(sent).hex() == recorded


def test_expansion_gives_one_stable_event_per_user() -> None:
    now = FrozenClock().now()
    nid = uuid.uuid4()

    events = list(domain.expand("app", request(), nid, now, now))
    again = list(domain.expand("app", request(), nid, now, now))

    assert [e.user_id for e in events] == ["u1", "u2"]
    assert [e.event_id for e in events] == [e.event_id for e in again]
    assert len({e.event_id for e in events}) == 2


def test_the_accepted_step_names_the_senders_key_the_users_and_the_content() -> None:
    now = FrozenClock().now()
    nid = uuid.uuid4()
    sent = request().model_copy(update={"category": "news"})

    step = domain.accepted_trace("app", sent, nid, now)

    assert (step.stage, step.notification_id, step.user_id) == ("accepted", nid, None)
    assert (step.idempotency_key, step.users, step.category) == ("k-1", 2, "news")
    assert step.content == sent.content
    assert step.occurred_at == now
    assert step.event_id == domain.accepted_trace("app", sent, nid, now).event_id


def scheduled(schedule: dict[str, object], **options: object) -> NotificationRequest:
    return NotificationRequest.model_validate(
        {
            "idempotency_key": "k-1",
            "audience": {"user_ids": ["u1"]},
            "content": {"title": "T"},
            "options": options,
            "schedule": schedule,
        }
    )


NOW = FrozenClock().now()


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ({"title": "a\x00b"}, "content.title"),
        ({"title": "T", "data": {"k\x00": "v"}}, "content.data"),
        ({"title": "T", "data": {"k": "\x00"}}, "content.data.k"),
        ({"title": "T", "body_loc_args": ["x", "\x00"]}, "content.body_loc_args.1"),
        (
            {"title": "T", "overrides": {"android": {"notification": {"tag": "\x00"}}}},
            "content.overrides.android.notification.tag",
        ),
    ],
)
def test_a_nul_character_is_refused_where_it_hides(content: dict[str, object], field: str) -> None:
    with pytest.raises(domain.RequestProblem, match="NUL character") as caught:
        domain.check(request(**content), max_content_bytes=4000)

    assert caught.value.field == field


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_are_refused(number: float) -> None:
    bad = request(title="T", overrides={"apns": {"payload": {"x": [1, number]}}})

    with pytest.raises(domain.RequestProblem, match="NaN and Infinity") as caught:
        domain.check(bad, max_content_bytes=4000)

    assert caught.value.field == "content.overrides.apns.payload.x.1"


def test_content_too_large_for_a_platform_names_it_and_its_limit() -> None:
    large = request(title="T", body="€" * 1300, deep_link="app://x")

    with pytest.raises(domain.RequestProblem) as caught:
        domain.check(large, max_content_bytes=8000)

    assert caught.value.field == "content"
    assert (
        "for APNs (JSON payload, apns-push-type alert); the limit is 4096" in caught.value.message
    )
    assert "for Web Push (plaintext of one 4096-byte aes128gcm record); the limit is 3993" in (
        caught.value.message
    )


def test_an_override_a_dispatcher_refuses_is_refused_at_ingest() -> None:
    bad = request(title="T", overrides={"apns": {"headers": {"apns-priority": "7"}}})

    with pytest.raises(domain.RequestProblem, match="must be 1, 5 or 10") as caught:
        domain.check(bad, max_content_bytes=4000)

    assert caught.value.field == "content.overrides.apns.headers.apns-priority"


@pytest.mark.parametrize(
    "schedule",
    [
        {"send_at": NOW + timedelta(days=365)},
        {"send_at": NOW - timedelta(days=7)},
        {"local_time": "2027-01-15T23:59:00"},
        {"expires_at": NOW + timedelta(seconds=1)},
        {"expires_at": NOW + timedelta(days=393)},
        {"send_at": NOW - timedelta(seconds=59), "urgent": True},
    ],
    ids=str,
)
def test_times_inside_the_window_are_accepted(schedule: dict[str, object]) -> None:
    domain.check_timing(scheduled(schedule, ttl_seconds=60 if "urgent" in schedule else None), NOW)


@pytest.mark.parametrize(
    ("schedule", "ttl", "field", "message"),
    [
        ({"send_at": NOW + timedelta(days=366)}, None, "schedule.send_at", "365 days ahead"),
        ({"send_at": "9999-12-31T23:59:59Z"}, 60, "schedule.send_at", "the limit is 365 days"),
        ({"send_at": NOW - timedelta(days=8)}, None, "schedule.send_at", "7 days in the past"),
        ({"send_at": "0001-01-01T00:00:00+05:00"}, None, "schedule.send_at", "in the past"),
        ({"local_time": "2027-01-16T15:00:00"}, None, "schedule.local_time", "every time zone"),
        ({"local_time": "0001-01-01T00:00:00"}, 60, "schedule.local_time", "7 days in the past"),
        ({"local_time": "9999-12-31T23:59:59"}, 60, "schedule.local_time", "365 days ahead"),
        ({"expires_at": NOW}, None, "schedule.expires_at", "passed 0 s ago"),
        ({"expires_at": NOW - timedelta(hours=3)}, None, "schedule.expires_at", "passed 3 h ago"),
        ({"expires_at": NOW + timedelta(days=394)}, None, "schedule.expires_at", "393 days"),
        ({"send_at": NOW - timedelta(seconds=60)}, 60, "options.ttl_seconds", "ended 0 s ago"),
        ({"local_time": "2026-01-14T23:00:00"}, 3600, "options.ttl_seconds", "every time zone"),
    ],
    ids=str,
)
def test_times_outside_the_window_name_the_field_and_limit(
    schedule: dict[str, object], ttl: int | None, field: str, message: str
) -> None:
    with pytest.raises(domain.RequestProblem) as caught:
        domain.check_timing(scheduled(schedule, ttl_seconds=ttl), NOW)

    assert caught.value.field == field
    assert message in caught.value.message


def test_a_local_time_still_ahead_somewhere_is_accepted() -> None:
    eleven_hours_ago_in_utc = "2026-01-15T01:00:00"

    domain.check_timing(scheduled({"local_time": eleven_hours_ago_in_utc}, ttl_seconds=3600), NOW)


def test_a_collapse_key_apns_counts_over_64_bytes_is_refused_naming_the_option() -> None:
    bad = request(title="T").model_copy(update={"options": DeliveryOptions(collapse_key="é" * 33)})

    with pytest.raises(
        domain.RequestProblem, match="66 bytes in UTF-8; APNs takes at most 64"
    ) as caught:
        domain.check(bad, max_content_bytes=4000)

    assert caught.value.field == "options.collapse_key"


@pytest.mark.parametrize("key", ["line\r\nInjected: 1", "tab\there", "del\x7f", "next\x85line"])
def test_a_collapse_key_with_control_characters_is_refused(key: str) -> None:
    with pytest.raises(ValidationError, match="only printable characters"):
        DeliveryOptions(collapse_key=key)


@pytest.mark.parametrize(
    ("user_id", "named"),
    [
        ("alice\u200b", "ZERO WIDTH SPACE"),
        ("alice\u202e", "RIGHT-TO-LEFT OVERRIDE"),
        ("ali\u2066ce", "LEFT-TO-RIGHT ISOLATE"),
        ("alice\x85", "should match pattern"),
        ("alice\u2028", "should match pattern"),
    ],
)
def test_user_ids_are_printable(user_id: str, named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        NotificationRequest.model_validate(
            {"idempotency_key": "k", "audience": {"user_ids": [user_id]}, "content": {"title": "T"}}
        )
