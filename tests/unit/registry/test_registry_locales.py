"""Localized text: which variant a device gets (its tag, its language, its user's locale, the
default), how senders' tags are checked, and that fan-out puts only that variant on the push."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from contracts.content import Content
from contracts.locales import lookup, normalise
from contracts.notifications import NotificationCounted
from services.registry.devices import domain
from tests.support.factories import device

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
CONTENT = Content.model_validate(
    {
        "title": "Your order shipped",
        "subtitle": "Order 12",
        "body": "On its way",
        "localized": {
            "fr": {"title": "Commande expédiée", "body": "En route"},
            "pt": {"title": "Pedido enviado", "body": "A caminho"},
            "zh-Hant": {"title": "訂單已出貨"},
        },
    }
)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("fr", "fr"),
        ("pt_br", "pt-BR"),
        ("PT-br", "pt-BR"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("es-419", "es-419"),
        ("de-CH-1996", "de-CH-1996"),
    ],
)
def test_tags_are_normalised_to_the_recommended_case(tag: str, expected: str) -> None:
    assert normalise(tag) == expected


@pytest.mark.parametrize("tag", ["english", "f", "fr-", "fr--CA", "12", "fr-CA-x"])
def test_what_is_not_a_language_tag_is_refused(tag: str) -> None:
    with pytest.raises(ValueError, match="not a BCP 47 language tag"):
        normalise(tag)


@pytest.mark.parametrize(
    ("device_locale", "user_locale", "variant"),
    [
        ("fr", None, "fr"),
        ("fr-CA", None, "fr"),
        ("pt_BR", None, "pt"),
        ("zh-Hant-TW", None, "zh-Hant"),
        ("zh-Hans-CN", None, None),
        ("de", "fr-BE", "fr"),
        (None, "pt-PT", "pt"),
        ("en-US", "de", None),
        (None, None, None),
    ],
)
def test_a_device_gets_its_tag_then_its_language_then_its_users_locale_then_the_default(
    device_locale: str | None, user_locale: str | None, variant: str | None
) -> None:
    assert CONTENT.variant_for(device_locale, user_locale) == variant


def test_the_exact_tag_wins_over_the_language() -> None:
    assert lookup(["pt", "pt-BR"], "pt-BR") == "pt-BR"
    assert lookup(["pt", "pt-BR"], "pt-PT") == "pt"


def test_a_variant_replaces_title_subtitle_and_body_together_and_no_variant_travels_on() -> None:
    french = CONTENT.in_locale("fr")
    default = CONTENT.in_locale(None)

    assert (french.title, french.subtitle, french.body) == ("Commande expédiée", None, "En route")
    assert (default.title, default.subtitle) == ("Your order shipped", "Order 12")
    assert french.localized == default.localized == {}


BUTTONS: dict[str, object] = {
    "title": "Hi",
    "category": "C",
    "actions": [{"id": "a", "title": "Open"}, {"id": "b", "title": "Later"}],
}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            {"title": "Hi", "localized": {"pt-br": {"title": "Oi"}, "pt_BR": {"title": "Olá"}}},
            "are both the locale pt-BR",
        ),
        ({"title": "Hi", "localized": {"fr": {"subtitle": "Sous-titre"}}}, "needs a title or"),
        ({"data": {"k": "v"}, "localized": {"fr": {"title": "Salut"}}}, "need a visible"),
        ({"title": "Hi", "localized": {"français": {"title": "Salut"}}}, "BCP 47"),
        (
            {"title": "Hi", "localized": {f"fr-{n:03d}": {"title": "S"} for n in range(33)}},
            "at most 32",
        ),
        (
            {**BUTTONS, "localized": {"fr": {"title": "S", "action_titles": {"a": "X"}}}},
            r"localized.fr.action_titles must name every button .*missing: b; not in actions: none",
        ),
        (
            {
                **BUTTONS,
                "localized": {
                    "fr": {"title": "S", "action_titles": {"a": "X", "b": "Y", "z": "Z"}}
                },
            },
            "missing: none; not in actions: z",
        ),
        (
            {"title": "Hi", "localized": {"fr": {"title": "S", "action_titles": {"a": "X"}}}},
            "missing: none; not in actions: a",
        ),
        (
            {**BUTTONS, "localized": {"fr": {"title": "S", "action_titles": {"a": "", "b": "Y"}}}},
            "at least 1 character",
        ),
    ],
)
def test_variants_that_cannot_be_sent_are_refused(content: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Content.model_validate(content)


def test_a_variant_with_button_titles_retitles_every_button_and_one_without_keeps_them() -> None:
    content = Content.model_validate(
        {
            **BUTTONS,
            "localized": {
                "fr": {"title": "Salut", "action_titles": {"b": "Plus tard", "a": "Ouvrir"}},
                "de": {"title": "Hallo"},
            },
        }
    )

    french, german = content.in_locale("fr"), content.in_locale("de")

    assert [(a.id, a.title) for a in french.actions] == [("a", "Ouvrir"), ("b", "Plus tard")]
    assert [(a.id, a.title) for a in german.actions] == [("a", "Open"), ("b", "Later")]
    assert [a.title for a in content.in_locale(None).actions] == ["Open", "Later"]


def counted(content: Content) -> NotificationCounted:
    return NotificationCounted(
        event_id=uuid.uuid4(),
        app_id="app",
        occurred_at=NOW,
        notification_id=uuid.uuid4(),
        user_id="alice",
        content=content,
        accepted_at=NOW,
        due_at=NOW,
    )


def test_fan_out_puts_on_each_push_the_text_of_its_devices_locale() -> None:
    french = device(NOW, locale="fr-FR")
    brazilian = device(NOW, locale="pt-BR")
    german = device(NOW, locale="de-DE")
    silent = device(NOW, locale=None)

    pushes = domain.fan_out(
        counted(CONTENT), [french, brazilian, german, silent], NOW, user_locale="fr-FR"
    )

    shown = {push.device_id: (push.locale, push.content.title) for push in pushes}
    assert shown == {
        french.device_id: ("fr", "Commande expédiée"),
        brazilian.device_id: ("pt", "Pedido enviado"),
        german.device_id: ("fr", "Commande expédiée"),
        silent.device_id: ("fr", "Commande expédiée"),
    }
    assert all(push.content.localized == {} for push in pushes)


def test_the_users_locale_is_the_stated_one_else_their_latest_device_that_reports_one() -> None:
    old = device(NOW - timedelta(days=3), locale="de")
    newer = device(NOW - timedelta(days=1), locale="fr")
    newest = device(NOW, locale=None)

    assert domain.user_locale("pt-BR", [old, newer, newest]) == "pt-BR"
    assert domain.user_locale(None, [old, newer, newest]) == "fr"
    assert domain.user_locale(None, [newest]) is None


REGIONAL = Content.model_validate(
    {
        "title": "Hello",
        "localized": {
            "fr-CA": {"title": "Allô"},
            "fr": {"title": "Bonjour"},
            "pt-BR": {"title": "Oi"},
            "pt": {"title": "Olá"},
        },
    }
)


@pytest.mark.parametrize(
    ("device_locale", "stated", "title"),
    [
        ("fr-CA", "pt-BR", "Allô"),
        ("fr-FR", "pt-BR", "Bonjour"),
        ("de-DE", "pt-BR", "Oi"),
        (None, "pt-BR", "Oi"),
        ("de-DE", "pt-PT", "Olá"),
        ("de-DE", "es", "Hello"),
        (None, None, "Hello"),
    ],
)
def test_fan_out_tries_the_devices_locale_its_language_the_users_locale_its_language_the_default(
    device_locale: str | None, stated: str | None, title: str
) -> None:
    phone = device(NOW, locale=device_locale)

    [push] = domain.fan_out(
        counted(REGIONAL), [phone], NOW, user_locale=domain.user_locale(stated, [phone])
    )

    assert push.content.title == title
