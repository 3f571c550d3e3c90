"""The Web Push emulator as a push service: it issues subscriptions, decrypts what it receives and
checks VAPID; and what Herald's provider sends it decrypts with an independent RFC 8291 reader."""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import http_ece
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from services.dispatcher.domain import Delivered, Rejected
from services.dispatcher.platforms.webpush.provider import create_webpush_provider
from services.dispatcher.platforms.webpush.vapid import base64url, load_vapid_key
from services.dispatcher.settings import DispatcherSettings
from services.emulators.webpush.keys import unb64url
from tests.support.clock import FrozenClock
from tests.support.ece import decrypt
from tests.support.factories import push_request
from tests.support.webpush import (
    RunningWebPushEmulator,
    subscription_id,
    webpush_emulator,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def emulator(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[RunningWebPushEmulator]:
    async with webpush_emulator(tmp_path, clock=clock) as running:
        yield running


def public_key(key: ec.EllipticCurvePrivateKey) -> str:
    return base64url(key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))


def vapid_header(
    key: ec.EllipticCurvePrivateKey, clock: FrozenClock, audience: str, **claims: Any
) -> str:
    values: dict[str, Any] = {
        "aud": audience,
        "exp": int((clock.now() + timedelta(hours=12)).timestamp()),
        "sub": "mailto:ops@herald.example",
        **claims,
    }
    token = jwt.encode({k: v for k, v in values.items() if v is not None}, key, algorithm="ES256")
    return f"vapid t={token}, k={public_key(key)}"


async def post(
    emulator: RunningWebPushEmulator,
    token: str,
    *,
    headers: dict[str, str],
    plaintext: bytes = b'{"hello":"world"}',
) -> httpx.Response:
    subscription = json.loads(token)
    body = http_ece.encrypt(
        plaintext,
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=unb64url(subscription["keys"]["p256dh"]),
        auth_secret=unb64url(subscription["keys"]["auth"]),
        version="aes128gcm",
    )
    context = ssl.create_default_context(cafile=str(emulator.ca.cert_path))
    async with httpx.AsyncClient(http2=True, verify=context, trust_env=False) as client:
        response = await client.post(subscription["endpoint"], headers=headers, content=body)
    assert response.http_version == "HTTP/2"
    return response


def origin(token: str) -> str:
    endpoint: str = json.loads(token)["endpoint"]
    return endpoint.split("/push/")[0]


def basic(headers: dict[str, str]) -> dict[str, str]:
    return {"TTL": "60", "Content-Encoding": "aes128gcm", **headers}


async def test_a_message_is_decrypted_and_recorded_with_its_vapid_claims(
    emulator: RunningWebPushEmulator, clock: FrozenClock
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    token = await emulator.subscribe(bind_vapid=False)
    header = vapid_header(key, clock, origin(token))

    response = await post(emulator, token, headers=basic({"Authorization": header}))

    assert response.status_code == 201
    assert response.headers["location"].startswith(origin(token))
    [message] = await emulator.recorded(token)
    assert message["payload"] == '{"hello":"world"}'
    assert message["vapid"]["aud"] == origin(token)


@pytest.mark.parametrize(
    ("claims", "status", "reason"),
    [
        ({"aud": "https://elsewhere.example"}, 403, "Audience doesn't match"),
        ({"sub": None}, 403, 'Token is missing the "sub" claim'),
        ({"sub": "ops"}, 403, "mailto: or https:"),
        ({"exp": None}, 403, 'Token is missing the "exp" claim'),
        ({"exp_hours": 25}, 403, "more than 24 hours"),
        ({"exp_hours": -1}, 403, "expired"),
    ],
)
async def test_vapid_tokens_are_checked_as_rfc_8292_says(
    emulator: RunningWebPushEmulator,
    clock: FrozenClock,
    claims: dict[str, Any],
    status: int,
    reason: str,
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    token = await emulator.subscribe(bind_vapid=False)
    claims = dict(claims)
    hours = claims.pop("exp_hours", None)
    if hours is not None:
        claims["exp"] = int((clock.now() + timedelta(hours=hours)).timestamp())
    header = vapid_header(key, clock, origin(token), **claims)

    response = await post(emulator, token, headers=basic({"Authorization": header}))

    assert response.status_code == status
    assert reason in response.json()["reason"]


async def test_a_vapid_token_accepted_before_is_refused_once_it_expires(
    emulator: RunningWebPushEmulator, clock: FrozenClock
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    token = await emulator.subscribe(bind_vapid=False)
    header = vapid_header(key, clock, origin(token))
    fresh = await post(emulator, token, headers=basic({"Authorization": header}))
    clock.advance(hours=25)
    stale = await post(emulator, token, headers=basic({"Authorization": header}))

    assert fresh.status_code == 201
    assert stale.status_code == 403
    assert "expired" in stale.json()["reason"]


async def test_a_subscription_bound_to_a_key_refuses_another(
    emulator: RunningWebPushEmulator, clock: FrozenClock
) -> None:
    token = await emulator.subscribe(bind_vapid=True)
    stranger = ec.generate_private_key(ec.SECP256R1())

    response = await post(
        emulator,
        token,
        headers=basic({"Authorization": vapid_header(stranger, clock, origin(token))}),
    )

    assert response.status_code == 403
    assert "applicationServerKey" in response.json()["reason"]


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"TTL": ""}, "TTL header required"),
        ({"Urgency": "urgent"}, "Urgency must be one of"),
        ({"Topic": "a topic with spaces"}, "Topic is at most 32"),
        ({"Content-Encoding": "aesgcm"}, "aes128gcm"),
    ],
)
async def test_rfc_8030_headers_are_checked(
    emulator: RunningWebPushEmulator, clock: FrozenClock, headers: dict[str, str], reason: str
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    token = await emulator.subscribe(bind_vapid=False)
    all_headers = basic({"Authorization": vapid_header(key, clock, origin(token)), **headers})
    all_headers = {k: v for k, v in all_headers.items() if v}

    response = await post(emulator, token, headers=all_headers)

    assert response.status_code == 400
    assert reason in response.json()["reason"]


async def test_unknown_and_removed_subscriptions_answer_404_and_410(
    emulator: RunningWebPushEmulator, clock: FrozenClock
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    token = await emulator.subscribe(bind_vapid=False)
    unknown = token.replace(subscription_id(token), "nope")
    headers = basic({"Authorization": vapid_header(key, clock, origin(token))})
    await emulator.control(f"/emulator/subscriptions/{subscription_id(token)}/unsubscribe")

    assert (await post(emulator, unknown, headers=headers)).status_code == 404
    assert (await post(emulator, token, headers=headers)).status_code == 410


async def test_herald_messages_decrypt_independently_and_carry_a_valid_vapid_token(
    emulator: RunningWebPushEmulator, clock: FrozenClock
) -> None:
    token = await emulator.subscribe()
    provider = await create_webpush_provider(
        DispatcherSettings(**emulator.dispatcher_settings()), clock
    )
    request = push_request(clock.now(), "webpush", token, content={"title": "Hi", "body": "there"})
    try:
        verdict = await provider.attempt(request, clock.now())
    finally:
        await provider.close()
    [message] = await emulator.recorded(token)
    keys = emulator.app.state.webpush.subscriptions[subscription_id(token)].keys

    plaintext = decrypt(
        base64.b64decode(message["body_base64"]), keys.private_key, keys.auth_secret
    )

    assert isinstance(verdict, Delivered)
    assert json.loads(plaintext)["notification"]["title"] == "Hi"
    assert plaintext.decode() == message["payload"]
    vapid_key = load_vapid_key(emulator.vapid_key_path)
    assert message["vapid"]["aud"] == origin(token)
    assert message["vapid"]["exp"] <= clock.now().timestamp() + 24 * 3600
    assert public_key(vapid_key) == emulator.vapid_public_key


@pytest.mark.parametrize("allowed", [["fcm.googleapis.com"], ["127.0.0.1"], ["127.0.0.1:1"]])
async def test_a_subscription_off_the_allowed_hosts_and_ports_is_never_called(
    emulator: RunningWebPushEmulator, clock: FrozenClock, allowed: list[str]
) -> None:
    token = await emulator.subscribe()
    settings = DispatcherSettings(
        **{**emulator.dispatcher_settings(), "webpush_allowed_hosts": allowed}
    )
    provider = await create_webpush_provider(settings, clock)
    try:
        verdicts = [
            await provider.attempt(push_request(clock.now(), "webpush", token), clock.now())
            for _ in range(2)
        ]
    finally:
        await provider.close()

    for verdict in verdicts:
        assert isinstance(verdict, Rejected)
        assert (verdict.outcome, verdict.status) == ("token_invalid", None)
    assert await emulator.requests() == []
