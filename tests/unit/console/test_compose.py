"""The compose form becomes the request ingest validates, and a broken form names its fields."""

from __future__ import annotations

import uuid

import pytest

from services.console import compose

pytestmark = pytest.mark.unit

BASE = {"audience": "user_ids", "user_ids": "alice, bob", "title": "Hello", "body": "Hi"}


def test_a_full_form_becomes_the_request_with_variant_actions_options_and_schedule() -> None:
    form = {
        **BASE,
        "image_url": "https://example.com/a.png",
        "variant_locale": "fr",
        "variant_title": "Bonjour",
        "variant_body": "Salut",
        "data": "order=42\n\nscreen = cart",
        "category": "ORDER",
        "action_id_1": "open",
        "action_title_1": "Open",
        "ttl_seconds": "600",
        "priority": "normal",
        "collapse_key": "orders",
        "badge": "set",
        "badge_number": "3",
        "when": "at",
        "send_at": "2030-01-02T09:30",
        "urgent": "1",
        "overrides": '{"android": {"ttl": "60s"}, "apns": {"payload": {"aps": {"sound": "a"}}}}',
    }
    request = compose.parse(form)
    assert request.audience.user_ids == ["alice", "bob"]
    assert request.content.localized["fr"].title == "Bonjour"
    assert request.content.data == {"order": "42", "screen": "cart"}
    assert [a.id for a in request.content.actions] == ["open"]
    assert request.options.ttl_seconds == 600
    assert request.options.badge == 3
    assert request.options.collapse_key == "orders"
    assert request.schedule is not None
    assert request.schedule.send_at is not None
    assert request.schedule.send_at.isoformat() == "2030-01-02T09:30:00+00:00"
    assert request.schedule.urgent
    assert request.content.overrides is not None
    assert request.content.overrides.android == {"ttl": "60s"}


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({**BASE, "user_ids": ""}, "audience.user_ids"),
        ({**BASE, "image_url": "http://plain.example/a.png"}, "content.image_url"),
        ({**BASE, "data": "no equals sign"}, "content.data"),
        ({**BASE, "audience": "segment", "segment": "{not json"}, "audience.segment"),
        ({**BASE, "badge": "set"}, "options.badge"),
        ({**BASE, "overrides": '{"ios": {}}'}, "content.overrides"),
        ({**BASE, "action_id_1": "open", "action_title_1": "Open"}, "content"),
    ],
)
def test_a_broken_form_names_the_field_to_fix(form: dict[str, str], field: str) -> None:
    with pytest.raises(compose.FormProblem) as raised:
        compose.parse(form)
    assert any(p.field.startswith(field) for p in raised.value.problems), raised.value.problems


def test_other_audiences() -> None:
    assert compose.parse({**BASE, "audience": "all"}).audience.all is True
    assert compose.parse({**BASE, "audience": "topic", "topic": "news"}).audience.topic == "news"
    segment = compose.parse({**BASE, "audience": "segment", "segment": '{"locales": ["fr"]}'})
    assert segment.audience.segment is not None


def test_a_test_send_targets_one_device_now_under_its_own_key() -> None:
    request = compose.parse({**BASE, "when": "at", "send_at": "2030-01-02T09:30"})
    device = uuid.uuid4()
    body = compose.for_test_device(request, str(device))
    assert body["audience"] == {"device_ids": [str(device)]}
    assert "schedule" not in body
    assert body["idempotency_key"] != request.idempotency_key
    with pytest.raises(compose.FormProblem):
        compose.for_test_device(request, "not a device id")
