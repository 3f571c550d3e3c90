"""What the device API accepts as a registration, and how it words a refusal."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.registry.devices.http_models import DeviceRegistration

pytestmark = pytest.mark.unit

APNS_TOKEN = "0f" * 32


def body(**fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"user_id": "alice", "platform": "apns", "token": APNS_TOKEN}
    values.update(fields)
    return values


def problems(**fields: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        DeviceRegistration.model_validate(body(**fields))
    return [
        (".".join(str(p) for p in error["loc"]), error["msg"]) for error in caught.value.errors()
    ]


def test_a_full_registration_becomes_the_apps_registration() -> None:
    registration = DeviceRegistration.model_validate(
        body(
            token=APNS_TOKEN.upper(),
            locale="pt-BR",
            time_zone="America/Sao_Paulo",
            apns_environment="sandbox",
        )
    ).for_app("my-app")
    assert registration.app_id == "my-app"
    assert registration.token == APNS_TOKEN
    assert (registration.locale, registration.time_zone) == ("pt-BR", "America/Sao_Paulo")
    assert registration.apns_environment == "sandbox"


def test_an_apns_environment_is_for_apns_tokens_only() -> None:
    fcm = {"platform": "fcm", "token": "a" * 40}
    assert problems(**fcm, apns_environment="sandbox") == [
        ("apns_environment", "apns_environment applies to platform apns only, not fcm")
    ]
    assert [field for field, _ in problems(apns_environment="development")] == ["apns_environment"]


def test_the_token_error_names_the_platform_limit() -> None:
    assert problems(token="abc") == [
        ("token", "apns tokens are 64 to 200 characters long; this one has 3")
    ]


def test_an_unknown_platform_is_reported_once_and_on_its_own_field() -> None:
    found = problems(platform="sms", token="abc")
    assert [field for field, _ in found] == ["platform"]


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../etc/passwd", "europe/paris", ""])
def test_time_zones_must_be_iana_names(zone: str) -> None:
    [(field, message)] = problems(time_zone=zone)
    assert field == "time_zone"
    assert "is not an IANA time zone name" in message


@pytest.mark.parametrize("locale", ["english", "e", "en US", "en-" + "x" * 40])
def test_locales_must_be_language_tags(locale: str) -> None:
    [(field, _)] = problems(locale=locale)
    assert field == "locale"


def test_app_version_is_printable() -> None:
    [(field, _)] = problems(app_version="1.0\n")
    assert field == "app_version"


def test_the_app_id_never_comes_from_the_body() -> None:
    [(field, _)] = problems(app_id="someone-else")
    assert field == "app_id"
