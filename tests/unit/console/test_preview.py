"""The preview renders with the dispatchers' renderers and sizes as ingest does before accepting."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from services.console import compose
from services.console.preview import preview, sample_push
from shared.platforms.apns import payload as apns
from shared.platforms.fcm import payload as fcm
from shared.platforms.limits import payload_breaches
from shared.platforms.webpush import payload as webpush

pytestmark = pytest.mark.unit

NOW = datetime(2026, 5, 1, tzinfo=UTC)
FORM = {
    "audience": "user_ids",
    "user_ids": "alice",
    "title": "Hello",
    "body": "Hi there",
    "image_url": "https://example.com/a.png",
    "variant_locale": "fr",
    "variant_title": "Bonjour",
    "variant_body": "Salut",
    "category": "ORDER",
    "action_id_1": "open",
    "action_title_1": "Open",
}


def test_each_platform_shows_what_its_renderer_sends() -> None:
    request = compose.parse(FORM)
    shown = preview(request, None, NOW)
    by_name = {p.platform: p for p in shown.platforms}
    assert set(by_name) == {"apns", "fcm", "webpush"}
    apns_payload = json.loads(by_name["apns"].rendered or "")
    assert apns_payload["aps"]["alert"] == {"title": "Hello", "body": "Hi there"}
    assert by_name["apns"].card is not None
    assert by_name["apns"].card.actions == ["Open"]
    fcm_body = json.loads(by_name["fcm"].rendered or "")["message"]
    assert fcm_body["notification"]["image"] == "https://example.com/a.png"
    web = json.loads(by_name["webpush"].rendered or "")
    assert web["notification"]["title"] == "Hello"
    # The rendered push is exactly the renderers' own output for the sample device.
    sample = sample_push(request, None, "apns")
    assert apns.build(sample, NOW).payload.keys() == apns_payload.keys()
    assert fcm.message(sample, NOW, fcm.RenderOptions()).keys() == fcm_body.keys()
    assert json.loads(webpush.build(sample, NOW).plaintext).keys() == web.keys()
    assert all(p.largest is not None and p.largest.fits for p in shown.platforms)
    assert shown.breaches == []


def test_a_variant_is_previewed_in_its_locale() -> None:
    shown = preview(compose.parse(FORM), "fr", NOW)
    assert shown.locale == "fr"
    for platform in shown.platforms:
        assert platform.card is not None
        assert platform.card.title == "Bonjour"
    assert preview(compose.parse(FORM), "de", NOW).locale is None


def test_the_meter_reports_the_limit_ingest_enforces() -> None:
    request = compose.parse(
        {**FORM, "body": "x" * 2048, "data": "\n".join(f"k{i}={'v' * 1000}" for i in range(4))}
    )
    shown = preview(request, None, NOW)
    breaches = list(payload_breaches(request.content, request.options))
    assert breaches
    assert shown.breaches == breaches
    assert any(p.largest is not None and not p.largest.fits for p in shown.platforms)
    assert max(p.percent for p in shown.platforms) == 100
