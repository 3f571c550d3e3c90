"""Audiences: the condition parser and the audience model's refusals, each naming what is wrong."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from contracts.audiences import Audience
from contracts.base import AddressableUserId
from contracts.codec import describe_validation_error
from contracts.conditions import AllOf, AnyOf, ConditionError, Subscribed, parse
from contracts.content import NotificationRequest

pytestmark = pytest.mark.unit


def test_and_binds_tighter_than_or_and_parentheses_group() -> None:
    assert parse("'sports' && ('goals' || 'scores')") == AllOf(
        (Subscribed("sports"), AnyOf((Subscribed("goals"), Subscribed("scores"))))
    )
    assert parse("'a' || 'b' && 'c'") == AnyOf(
        (Subscribed("a"), AllOf((Subscribed("b"), Subscribed("c"))))
    )
    assert parse("\"news\" in topics&&'fr~%.x' in topics") == AllOf(
        (Subscribed("news"), Subscribed("fr~%.x"))
    )
    assert parse(" ( ( 'solo' ) ) ") == Subscribed("solo")


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("", 0, "expected a quoted topic name or '(', found the end"),
        ("'a' &&", 6, "expected a quoted topic name or '(', found the end"),
        ("'a' && && 'b'", 7, "found \"&& 'b'\""),
        ("('a' || 'b'", 11, "expected ')' to close the '(' at position 0"),
        ("'a' 'b'", 4, "expected '&&', '||' or the end"),
        ("'a' & 'b'", 4, "expected '&&', '||' or the end"),
        ("'unclosed", 0, "opened with ' is never closed"),
        ("'a b'", 1, "'a b' is not a topic name"),
        ("'a'||'b'||'c'||'d'||'e'||'f'", 0, "names 6 topics; a condition may name at most 5"),
    ],
)
def test_a_bad_condition_names_the_position(text: str, position: int, words: str) -> None:
    with pytest.raises(ConditionError) as caught:
        parse(text)

    assert caught.value.position == position
    assert str(caught.value).startswith(f"at position {position}: ")
    assert words in str(caught.value)


def test_a_topic_repeated_counts_once_toward_the_five() -> None:
    assert parse("'a' && ('a' || 'b') && 'c' && 'd' && 'e'")


def refusal(audience: object) -> str:
    body = {"idempotency_key": "k", "audience": audience, "content": {"title": "t"}}
    with pytest.raises(ValidationError) as caught:
        NotificationRequest.model_validate(body)
    return describe_validation_error(caught.value, NotificationRequest)


@pytest.mark.parametrize(
    ("audience", "expected"),
    [
        (
            {},
            "audience: Value error, give exactly one of user_ids, device_ids, topic, "
            "condition, all, segment; got none",
        ),
        ({"topic": "news", "all": True}, "got topic and all"),
        ({"all": False}, "audience.all: Input should be True"),
        ({"topic": "a b"}, "audience.topic: String should match pattern"),
        ({"topic": "x" * 901}, "audience.topic: String should match pattern"),
        ({"condition": "'a' ||"}, "audience.condition: Value error, at position 6"),
        (
            {"condition": "(" * 1300 + "'a'" + ")" * 1300},
            "audience.condition: Value error, at position 16: parentheses nest deeper than 16",
        ),
        ({"device_ids": ["not-a-uuid"]}, "audience.device_ids.0: Input should be a valid UUID"),
        ({"device_ids": []}, "audience.device_ids: List should have at least 1 item"),
        ({"segment": {}}, "audience.segment: Value error, a segment needs at least one filter"),
        (
            {"segment": {"platform": ["fcm"]}},
            "audience.segment.platform: unknown field; did you mean 'platforms'?",
        ),
        ({"segment": {"time_zones": ["Mars/Base"]}}, "is not an IANA time zone name"),
        ({"segment": {"min_app_version": "2.x"}}, "audience.segment.min_app_version"),
        ({"segment": {"user_tags": {"tier": ""}}}, "audience.segment.user_tags.tier"),
        ({"topics": "news"}, "audience.topics: unknown field; did you mean 'topic'?"),
    ],
)
def test_a_bad_audience_is_refused_naming_the_field(audience: object, expected: str) -> None:
    assert expected in refusal(audience)


def test_only_the_kind_given_is_serialized_so_old_fingerprints_hold() -> None:
    audience = Audience.model_validate({"user_ids": ["u1", "u2", "u1"]})

    assert audience.model_dump_json() == '{"user_ids":["u1","u2"]}'
    assert Audience.model_validate({"topic": "news"}).model_dump() == {"topic": "news"}


def test_segment_locales_are_normalised_for_matching() -> None:
    segment = Audience.model_validate({"segment": {"locales": ["pt_BR", "FR", "fr"]}}).segment

    assert segment is not None
    assert segment.locales == ["pt-br", "fr"]


def test_dot_segments_are_refused_where_an_id_is_addressed_but_still_travel_in_audiences() -> None:
    addressable = TypeAdapter(AddressableUserId)

    assert addressable.validate_python("org/alice") == "org/alice"
    assert addressable.validate_python("...") == "..."
    for dots in (".", ".."):
        with pytest.raises(ValidationError, match="cannot be a user id"):
            addressable.validate_python(dots)
    assert Audience(user_ids=[".", ".."]).user_ids == [".", ".."]
