"""The codec turns every kind of bad input into a reason a person can act on."""

from __future__ import annotations

import json

import pytest

from contracts.codec import MAX_MESSAGE_BYTES, DecodeError, decode, encode
from contracts.topics import SUBMITTED, USER
from tests.support.clock import FrozenClock
from tests.support.factories import submitted, user_notification

pytestmark = pytest.mark.unit


def good() -> dict[str, object]:
    result: dict[str, object] = json.loads(encode(submitted(FrozenClock().now(), ["u1"])))
    return result


def reason_for(raw: bytes | None) -> str:
    with pytest.raises(DecodeError) as caught:
        decode(SUBMITTED, raw)
    return caught.value.reason


def test_valid_message_decodes() -> None:
    data = good()

    message = decode(SUBMITTED, json.dumps(data).encode())

    assert message.model_dump(mode="json") == data


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.pop("audience"), "audience: Field required"),
        (lambda d: d.update(version=2), "version: 2 is not supported"),
        (lambda d: d.update(type="push.request"), "type: expected 'notification.submitted'"),
        (lambda d: d.update(app_id="Bad App"), "app_id: String should match pattern"),
        (lambda d: d.update(occurred_at="2026-01-01T10:00:00"), "occurred_at: Input should have"),
        (lambda d: d["content"].update(title=7), "content.title: Input should be a valid string"),
        (lambda d: d["content"].update(data={"google.x": "1"}), "data key 'google.x' is reserved"),
        (lambda d: d["audience"].update(user_ids=[]), "audience.user_ids: List should have"),
        (lambda d: d["options"].update(ttl_seconds=-1), "options.ttl_seconds: Input should be"),
        (lambda d: d.update(audiance=d.pop("audience")), "audiance: unknown field; did you mean"),
        (
            lambda d: d["options"].update(ttl_second=60),
            "options.ttl_second: unknown field; did you mean 'ttl_seconds'?",
        ),
    ],
)
def test_invalid_fields_are_named(mutate: object, expected: str) -> None:
    data = good()
    data["options"] = {}
    mutate(data)  # type: ignore[operator]

    assert expected in reason_for(json.dumps(data).encode())


def test_structural_problems_have_reasons() -> None:
    assert "not valid JSON" in reason_for(b"{nope")
    assert "expected a JSON object" in reason_for(b"[1, 2]")
    assert "tombstone" in reason_for(None)
    assert f"the limit is {MAX_MESSAGE_BYTES} bytes" in reason_for(b" " * (MAX_MESSAGE_BYTES + 1))


def test_a_reason_keeps_the_app_and_key_it_could_read() -> None:
    data = good()
    data["version"] = 5

    with pytest.raises(DecodeError) as caught:
        decode(SUBMITTED, json.dumps(data).encode())

    assert caught.value.app_id == "testapp"
    assert caught.value.idempotency_key == data["idempotency_key"]


def test_a_message_on_the_wrong_topic_is_refused() -> None:
    with pytest.raises(DecodeError) as caught:
        decode(USER, json.dumps(good()).encode())

    assert "type: expected 'notification.user'" in caught.value.reason


def test_internal_events_tolerate_unknown_fields_for_rolling_deploys() -> None:
    event = user_notification(FrozenClock().now())
    data = json.loads(encode(event))
    data["added_in_a_later_release"] = {"x": 1}
    data["content"]["added_in_a_later_release"] = {"fr": {"title": "Bonjour"}}

    assert decode(USER, json.dumps(data).encode()) == event
