"""Action buttons and a localized variant as each platform receives them, each accepted by the
provider's own rules (the emulators'), and the limits check naming a variant that does not fit."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts.content import Content, DeliveryOptions
from contracts.push import Platform, PushRequest
from services.emulators.fcm.schema import parse_send_request
from shared.platforms.apns import payload as apns
from shared.platforms.apns.rules import check_request
from shared.platforms.fcm import payload as fcm
from shared.platforms.limits import payload_breaches
from shared.platforms.webpush import payload as webpush
from tests.support.clock import FrozenClock
from tests.support.factories import apns_token, push_request

pytestmark = pytest.mark.unit

NOW = FrozenClock().now()
SUBSCRIPTION = '{"endpoint":"https://push.example/x","keys":{"p256dh":"p","auth":"a"}}'
CONTENT: dict[str, Any] = {
    "title": "Commande expédiée",
    "body": "En route",
    "category": "ORDER",
    "actions": [
        {"id": "track", "title": "Suivre", "deep_link": "shop://orders/12/track"},
        {"id": "help", "title": "Aide", "icon_url": "https://cdn.example/help.png"},
    ],
}
FOR_THE_APP = [
    {"id": "track", "title": "Suivre", "deep_link": "shop://orders/12/track"},
    {"id": "help", "title": "Aide", "icon_url": "https://cdn.example/help.png"},
]
FOR_A_BROWSER = [
    {"action": "track", "title": "Suivre"},
    {"action": "help", "title": "Aide", "icon": "https://cdn.example/help.png"},
]


def request(platform: Platform, token: str) -> PushRequest:
    return push_request(NOW, platform, token, content=CONTENT, locale="fr")


def test_apns_names_the_apps_category_and_carries_the_buttons_beside_aps() -> None:
    message = apns.render(request("apns", apns_token()), NOW)

    assert message.payload["aps"]["category"] == "ORDER"
    assert message.payload["aps"]["alert"] == {"title": "Commande expédiée", "body": "En route"}
    assert message.payload["herald_actions"] == FOR_THE_APP
    token = "ab" * 32
    body = json.dumps(message.payload).encode()
    headers = [("apns-topic", "com.example.shop"), ("apns-push-type", message.push_type)]
    assert check_request(headers, token, body, ["com.example.shop"]).payload == message.payload


def test_fcm_gives_android_data_and_click_action_and_browsers_notification_actions() -> None:
    body = fcm.render(request("fcm", "fcm-token"), NOW, fcm.RenderOptions())
    message = body["message"]

    assert json.loads(message["data"]["herald_actions"]) == FOR_THE_APP
    assert message["android"]["notification"]["click_action"] == "ORDER"
    assert message["apns"]["payload"]["aps"]["category"] == "ORDER"
    assert message["webpush"]["notification"]["actions"] == FOR_A_BROWSER
    assert message["webpush"]["notification"]["lang"] == "fr"
    assert message["notification"] == {"title": "Commande expédiée", "body": "En route"}
    parse_send_request(json.loads(json.dumps(body)))


def test_web_push_shows_the_buttons_with_their_links_for_the_service_worker() -> None:
    message = webpush.render(request("webpush", SUBSCRIPTION), NOW)
    notification = json.loads(message.plaintext)["notification"]

    assert notification["title"] == "Commande expédiée"
    assert notification["options"]["actions"] == FOR_A_BROWSER
    assert notification["options"]["lang"] == "fr"
    assert notification["options"]["data"]["herald_actions"] == FOR_THE_APP


def test_a_variants_button_titles_reach_every_platform_that_shows_titles() -> None:
    english = {
        **CONTENT,
        "title": "Order shipped",
        "body": "On its way",
        "actions": [
            {**CONTENT["actions"][0], "title": "Track"},
            {**CONTENT["actions"][1], "title": "Help"},
        ],
        "localized": {
            "fr": {
                "title": "Commande expédiée",
                "body": "En route",
                "action_titles": {"track": "Suivre", "help": "Aide"},
            }
        },
    }
    french = Content.model_validate(english).in_locale("fr").model_dump(mode="json")

    def sent(platform: Platform, token: str) -> PushRequest:
        return push_request(NOW, platform, token, content=french, locale="fr")

    apns_payload = apns.render(sent("apns", apns_token()), NOW).payload
    fcm_message = fcm.render(sent("fcm", "fcm-token"), NOW, fcm.RenderOptions())["message"]
    web = json.loads(webpush.render(sent("webpush", SUBSCRIPTION), NOW).plaintext)

    assert apns_payload["herald_actions"] == FOR_THE_APP
    assert apns_payload["aps"]["category"] == "ORDER"
    assert json.loads(fcm_message["data"]["herald_actions"]) == FOR_THE_APP
    assert fcm_message["webpush"]["notification"]["actions"] == FOR_A_BROWSER
    assert web["notification"]["options"]["actions"] == FOR_A_BROWSER
    assert web["notification"]["options"]["data"]["herald_actions"] == FOR_THE_APP
    assert not list(payload_breaches(Content.model_validate(english), DeliveryOptions()))


def test_a_push_without_buttons_or_variant_renders_as_before() -> None:
    plain = {"title": "T", "body": "B"}
    apns_payload = apns.render(push_request(NOW, "apns", content=plain), NOW).payload
    fcm_message = fcm.render(push_request(NOW, "fcm", content=plain), NOW, fcm.RenderOptions())
    web = webpush.render(push_request(NOW, "webpush", SUBSCRIPTION, content=plain), NOW)
    options = json.loads(web.plaintext)["notification"]["options"]

    assert "herald_actions" not in apns_payload
    assert "herald_actions" not in fcm_message["message"]["data"]
    assert set(fcm_message["message"]["webpush"]["notification"]) == {"tag"}
    assert "actions" not in options
    assert "lang" not in options


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ({"title": "T", "actions": [{"id": "a", "title": "A"}]}, "actions need category"),
        (
            {"category": "C", "data": {"k": "v"}, "actions": [{"id": "a", "title": "A"}]},
            "need a visible notification",
        ),
        (
            {"title": "T", "category": "C", "actions": [{"id": "a", "title": "A"}] * 2},
            "repeated: a",
        ),
        (
            {"title": "T", "category": "C", "actions": [{"id": "a b", "title": "A"}]},
            "should match pattern",
        ),
        (
            {
                "title": "T",
                "category": "C",
                "actions": [{"id": str(n), "title": "A"} for n in "1234"],
            },
            "at most 3",
        ),
    ],
)
def test_buttons_that_cannot_show_are_refused(content: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Content.model_validate(content)


def test_the_variant_that_does_not_fit_is_named_with_the_limit_it_breaks() -> None:
    content = Content.model_validate(
        {
            "title": "Order shipped",
            "localized": {
                "fr": {"title": "Commande expédiée"},
                "pt_br": {"title": "Pedido enviado", "body": "€" * 1400},
            },
        }
    )

    breaches = list(payload_breaches(content, DeliveryOptions()))

    assert {breach.field for breach in breaches} == {"content.localized.pt-BR"}
    assert any("in locale pt-BR to up to" in b.message and "APNs" in b.message for b in breaches)
    assert not list(
        payload_breaches(content.model_copy(update={"localized": {}}), DeliveryOptions())
    )
