"""Unknown fields are explained with the name the sender likely meant, at the level they sit."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from contracts.content import NotificationRequest
from contracts.notifications import NotificationSubmitted
from contracts.unknown_fields import described, known_fields, likely_meant, unknown_field_message

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("name", "known", "meant"),
    [
        ("audiance", ["idempotency_key", "audience", "content"], "audience"),
        ("ttl_second", ["priority", "ttl_seconds", "collapse_key"], "ttl_seconds"),
        ("user_id", ["user_ids"], "user_ids"),
        ("Title", ["title", "body"], "title"),
        ("colour", ["title", "body"], None),
        ("anything", [], None),
    ],
)
def test_the_likely_name_is_a_close_one_or_none(
    name: str, known: list[str], meant: str | None
) -> None:
    assert likely_meant(name, known) == meant


def test_known_fields_follow_the_location_through_optionals_lists_and_dicts() -> None:
    class Item(BaseModel):
        label: str

    class Box(BaseModel):
        items: list[Item]
        named: dict[str, Item]
        maybe: Item | None = None

    assert known_fields(Box, ()) == ("items", "named", "maybe")
    assert known_fields(Box, ("items", 3)) == ("label",)
    assert known_fields(Box, ("named", "any key")) == ("label",)
    assert known_fields(Box, ("maybe",)) == ("label",)
    assert known_fields(Box, ("items", 0, "label")) == ()
    assert known_fields(Box, ("nowhere",)) == ()


@pytest.mark.parametrize(
    ("location", "message"),
    [
        (("audiance",), "unknown field; did you mean 'audience'?"),
        (("options", "ttl_second"), "unknown field; did you mean 'ttl_seconds'?"),
        (("audience", "user_id"), "unknown field; did you mean 'user_ids'?"),
        (("schedule", "sendat"), "unknown field; did you mean 'send_at'?"),
        (
            ("content", "overrides", "apns", "fcm_options"),
            "unknown field; expected one of: headers, payload",
        ),
        (("content", "data", "key", "deeper"), "unknown field"),
    ],
)
def test_the_message_names_the_likely_field_at_that_level(
    location: tuple[str, ...], message: str
) -> None:
    assert unknown_field_message(NotificationSubmitted, location) == message


def test_a_misspelling_is_reported_before_the_field_it_leaves_missing() -> None:
    with pytest.raises(ValidationError) as invalid:
        NotificationRequest.model_validate(
            {"idempotency_key": "k", "audiance": {"user_ids": ["u"]}, "content": {"title": "T"}}
        )

    problems = described(invalid.value.errors(), NotificationRequest, whole="(body)")

    assert problems == [
        ("audiance", "unknown field; did you mean 'audience'?"),
        ("audience", "Field required"),
    ]
