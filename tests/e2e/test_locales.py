"""Localized text through every service process: one request in French and Portuguese, and each
device shows the variant of its locale, its language, its user's locale (stated in their
preferences, else their latest device's), or the default, with the variant's button titles."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from services.devstack.stack import LocalStack
from tests.support.factories import unique
from tests.support.stack_client import StackClient

pytestmark = pytest.mark.e2e


@pytest.fixture
async def client(stack: LocalStack) -> AsyncIterator[StackClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield StackClient(stack, http)


async def test_a_french_device_gets_french_and_a_brazilian_one_portuguese_then_the_default(
    client: StackClient,
) -> None:
    french, brazilian, german = unique("amelie"), unique("bruno"), unique("dieter")
    quebecker = unique("claire")
    french_phone, _ = await client.register_fcm(french, locale="fr-FR")
    french_tablet, _ = await client.register_fcm(french)
    brazilian_phone, _ = await client.register_fcm(brazilian, locale="pt_BR")
    german_phone, _ = await client.register_fcm(german, locale="de-DE")
    quebecker_phone, _ = await client.register_fcm(quebecker)
    stated = await client.http.put(
        client.url("registry", f"/v1/users/{quebecker}/preferences"),
        headers=client.auth,
        json={"locale": "fr_ca"},
    )
    assert (stated.status_code, stated.json()["locale"]) == (200, "fr-CA"), stated.text

    reply = await client.send(
        {
            "idempotency_key": unique("locales"),
            "audience": {"user_ids": [french, brazilian, german, quebecker]},
            "content": {
                "title": "Your order shipped",
                "body": "On its way",
                "category": "ORDER",
                "actions": [{"id": "track", "title": "Track"}],
                "localized": {
                    "fr": {
                        "title": "Commande expédiée",
                        "body": "En route",
                        "action_titles": {"track": "Suivre"},
                    },
                    "pt": {"title": "Pedido enviado", "body": "A caminho"},
                },
            },
        }
    )
    assert reply.status_code == 202, reply.text

    shown = {}
    for token in (french_phone, french_tablet, brazilian_phone, german_phone, quebecker_phone):
        [push] = await client.wait_for_pushes(token, lambda pushes: len(pushes) >= 1)
        message = push["message"]
        shown[token] = (
            message["notification"]["title"],
            message["notification"]["body"],
            message["webpush"]["notification"].get("lang"),
            [button["title"] for button in json.loads(message["data"]["herald_actions"])],
        )
    assert shown == {
        french_phone: ("Commande expédiée", "En route", "fr", ["Suivre"]),
        french_tablet: ("Commande expédiée", "En route", "fr", ["Suivre"]),
        brazilian_phone: ("Pedido enviado", "A caminho", "pt", ["Track"]),
        german_phone: ("Your order shipped", "On its way", None, ["Track"]),
        quebecker_phone: ("Commande expédiée", "En route", "fr", ["Suivre"]),
    }


async def test_a_variant_too_large_for_a_provider_is_refused_naming_its_locale(
    client: StackClient,
) -> None:
    reply = await client.send(
        {
            "idempotency_key": unique("locales"),
            "audience": {"user_ids": [unique("user")]},
            "content": {
                "title": "Hi",
                "localized": {"pt_br": {"title": "Oi", "body": "ã" * 1900}},
            },
        }
    )

    assert reply.status_code == 422, reply.text
    assert reply.json()["error"]["field"] == "content.localized.pt-BR"
