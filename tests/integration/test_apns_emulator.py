"""The APNs emulator over TLS + HTTP/2: provider tokens, header and payload rules, faults, and
certificate authentication, as a client that is not Herald's sees them."""

from __future__ import annotations

import asyncio
import json
import ssl
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from services.dispatcher.domain import Delivered
from services.dispatcher.platforms.apns.provider import create_apns_provider
from services.dispatcher.settings import DispatcherSettings
from services.emulators.apns.keys import key_id_of
from tests.support.apns import TEAM_ID, TOPIC, RunningApnsEmulator, apns_emulator
from tests.support.clock import FrozenClock
from tests.support.factories import apns_token, push_request

pytestmark = pytest.mark.integration


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def emulator(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[RunningApnsEmulator]:
    async with apns_emulator(tmp_path, clock=clock) as running:
        yield running


def provider_token(
    emulator: RunningApnsEmulator, clock: FrozenClock, *, kid: str | None = None, **claims: Any
) -> str:
    """A provider token signed with the emulator's trusted key, claims overridable."""
    values = {"iss": TEAM_ID, "iat": int(clock.now().timestamp()), **claims}
    headers = {"kid": kid or key_id_of(emulator.key_path)}
    return jwt.encode(values, emulator.key_path.read_text(), algorithm="ES256", headers=headers)


async def send(
    emulator: RunningApnsEmulator,
    token: str,
    *,
    headers: dict[str, str],
    body: bytes = b'{"aps":{"alert":"hi"}}',
) -> httpx.Response:
    context = ssl.create_default_context(cafile=str(emulator.ca.cert_path))
    async with httpx.AsyncClient(http2=True, verify=context, trust_env=False) as client:
        response = await client.post(
            f"https://127.0.0.1:{emulator.tls_port}/3/device/{token}", headers=headers, content=body
        )
        assert response.http_version == "HTTP/2"
        return response


def auth(token: str) -> dict[str, str]:
    return {"authorization": f"bearer {token}", "apns-topic": TOPIC}


async def test_a_valid_request_is_accepted_and_its_apns_id_echoed(
    emulator: RunningApnsEmulator, clock: FrozenClock
) -> None:
    apns_id = str(uuid.uuid4())
    device = apns_token()

    response = await send(
        emulator,
        device,
        headers={**auth(provider_token(emulator, clock)), "apns-id": apns_id},
    )

    assert (response.status_code, response.headers["apns-id"]) == (200, apns_id)
    [recorded] = await emulator.recorded(device)
    assert recorded["payload"] == {"aps": {"alert": "hi"}}
    assert recorded["headers"]["apns-push-type"] == "alert"


@pytest.mark.parametrize(
    ("make_token", "status", "reason"),
    [
        (lambda e, c: None, 403, "MissingProviderToken"),
        (lambda e, c: provider_token(e, c, iss="OTHERTEAM1"), 403, "InvalidProviderToken"),
        (lambda e, c: provider_token(e, c, kid="UNKNOWNKID"), 403, "InvalidProviderToken"),
        (
            lambda e, c: provider_token(e, c, iat=int((c.now() - timedelta(hours=2)).timestamp())),
            403,
            "ExpiredProviderToken",
        ),
        (
            lambda e, c: jwt.encode(
                {"iss": TEAM_ID, "iat": int(c.now().timestamp())},
                ec.generate_private_key(ec.SECP256R1()),
                algorithm="ES256",
                headers={"kid": key_id_of(e.key_path)},
            ),
            403,
            "InvalidProviderToken",
        ),
    ],
)
async def test_provider_tokens_are_checked_like_apple_does(
    emulator: RunningApnsEmulator, clock: FrozenClock, make_token: Any, status: int, reason: str
) -> None:
    token = make_token(emulator, clock)
    headers = auth(token) if token else {"apns-topic": TOPIC}

    response = await send(emulator, apns_token(), headers=headers)

    assert (response.status_code, response.json()["reason"]) == (status, reason)


async def test_a_token_accepted_before_is_refused_once_it_is_an_hour_old(
    emulator: RunningApnsEmulator, clock: FrozenClock
) -> None:
    token = provider_token(emulator, clock)
    fresh = await send(emulator, apns_token(), headers=auth(token))
    clock.advance(minutes=61)
    stale = await send(emulator, apns_token(), headers=auth(token))

    assert fresh.status_code == 200
    assert (stale.status_code, stale.json()["reason"]) == (403, "ExpiredProviderToken")


def http2_client(emulator: RunningApnsEmulator) -> httpx.AsyncClient:
    """One client, so one HTTP/2 connection, for every request it sends."""
    context = ssl.create_default_context(cafile=str(emulator.ca.cert_path))
    return httpx.AsyncClient(
        http2=True,
        verify=context,
        trust_env=False,
        base_url=f"https://127.0.0.1:{emulator.tls_port}",
    )


async def test_a_new_token_within_20_minutes_on_one_connection_is_too_many_updates(
    emulator: RunningApnsEmulator, clock: FrozenClock
) -> None:
    body = b'{"aps":{"alert":"hi"}}'
    first_token = provider_token(emulator, clock)
    async with http2_client(emulator) as connection:
        first = await connection.post(
            f"/3/device/{apns_token()}", headers=auth(first_token), content=body
        )
        clock.advance(minutes=5)
        early_token = provider_token(emulator, clock)
        early = await connection.post(
            f"/3/device/{apns_token()}", headers=auth(early_token), content=body
        )
        kept = await connection.post(
            f"/3/device/{apns_token()}", headers=auth(first_token), content=body
        )
        clock.advance(minutes=15)
        later = await connection.post(
            f"/3/device/{apns_token()}", headers=auth(provider_token(emulator, clock)), content=body
        )

    assert first.status_code == 200
    assert (early.status_code, early.json()["reason"]) == (429, "TooManyProviderTokenUpdates")
    assert kept.status_code == 200
    assert later.status_code == 200


async def test_other_connections_may_present_their_own_token_as_apple_allows(
    emulator: RunningApnsEmulator, clock: FrozenClock
) -> None:
    """A restarted dispatcher or a second replica opens its own connections: Apple judges token
    updates per connection, and one token may serve many provider servers."""
    body = b'{"aps":{"alert":"hi"}}'
    first_token = provider_token(emulator, clock)
    clock.advance(minutes=1)
    second_token = provider_token(emulator, clock)
    async with http2_client(emulator) as one, http2_client(emulator) as other:
        answers = [
            await one.post(f"/3/device/{apns_token()}", headers=auth(first_token), content=body),
            await other.post(f"/3/device/{apns_token()}", headers=auth(second_token), content=body),
            await other.post(f"/3/device/{apns_token()}", headers=auth(second_token), content=body),
            await one.post(f"/3/device/{apns_token()}", headers=auth(first_token), content=body),
        ]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 200]


@pytest.mark.parametrize(
    ("device", "headers", "body", "status", "reason"),
    [
        ("zz" * 32, {}, None, 400, "BadDeviceToken"),
        (None, {"apns-topic": "com.other.app"}, None, 400, "TopicDisallowed"),
        (None, {"apns-push-type": "telepathy"}, None, 400, "InvalidPushType"),
        (None, {"apns-push-type": "voip"}, None, 400, "BadTopic"),
        (None, {"apns-priority": "7"}, None, 400, "BadPriority"),
        (
            None,
            {"apns-push-type": "background", "apns-priority": "10"},
            None,
            400,
            "BadPriority",
        ),
        (None, {"apns-expiration": "soon"}, None, 400, "BadExpirationDate"),
        (None, {"apns-collapse-id": "c" * 65}, None, 400, "BadCollapseId"),
        (None, {"apns-id": "not-a-uuid"}, None, 400, "BadMessageId"),
        (None, {}, b"", 400, "PayloadEmpty"),
        (None, {}, json.dumps({"aps": {}, "x": "y" * 4100}).encode(), 413, "PayloadTooLarge"),
    ],
)
async def test_header_and_payload_rules_answer_with_apples_reasons(
    emulator: RunningApnsEmulator,
    clock: FrozenClock,
    device: str | None,
    headers: dict[str, str],
    body: bytes | None,
    status: int,
    reason: str,
) -> None:
    all_headers = {**auth(provider_token(emulator, clock)), **headers}
    kwargs = {} if body is None else {"body": body}

    response = await send(emulator, device or apns_token(), headers=all_headers, **kwargs)

    assert (response.status_code, response.json()["reason"]) == (status, reason)


async def test_voip_pushes_may_be_larger(emulator: RunningApnsEmulator, clock: FrozenClock) -> None:
    body = json.dumps({"aps": {}, "x": "y" * 5000}).encode()
    headers = {
        **auth(provider_token(emulator, clock)),
        "apns-push-type": "voip",
        "apns-topic": f"{TOPIC}.voip",
    }

    response = await send(emulator, apns_token(), headers=headers, body=body)

    assert response.status_code == 200


async def test_a_body_beyond_the_flow_control_window_is_read_and_refused(
    emulator: RunningApnsEmulator, clock: FrozenClock
) -> None:
    body = json.dumps({"aps": {}, "x": "y" * 200_000}).encode()
    headers = auth(provider_token(emulator, clock))

    responses = [await send(emulator, apns_token(), headers=headers, body=body) for _ in range(3)]

    assert [(r.status_code, r.json()["reason"]) for r in responses] == [
        (413, "PayloadTooLarge")
    ] * 3


async def test_faults_play_status_and_retry_after_then_stop(
    emulator: RunningApnsEmulator, clock: FrozenClock
) -> None:
    await emulator.control("/emulator/faults", {"status": 429, "count": 1, "retry_after": "30"})
    headers = auth(provider_token(emulator, clock))

    refused = await send(emulator, apns_token(), headers=headers)
    accepted = await send(emulator, apns_token(), headers=headers)

    assert (refused.status_code, refused.headers["retry-after"]) == (429, "30")
    assert refused.json()["reason"] == "TooManyRequests"
    assert accepted.status_code == 200
    assert [r["status"] for r in await emulator.requests()] == [429, 200]


async def test_a_dispatcher_with_a_client_certificate_is_accepted(
    tmp_path: Path, clock: FrozenClock
) -> None:
    async with apns_emulator(tmp_path, clock=clock, client_ca=True) as emulator:
        client = emulator.ca.issue_client(tmp_path / "client", "apns-client", TOPIC)
        settings = DispatcherSettings(
            **{
                **emulator.dispatcher_settings(),
                "apns_key_file": None,
                "apns_cert_file": client.combined,
            }
        )
        provider = await create_apns_provider(settings, clock)
        try:
            request = push_request(clock.now(), "apns")
            verdict = await provider.attempt(request, clock.now())
        finally:
            await provider.close()
        [recorded] = await emulator.recorded(request.token)

    assert isinstance(verdict, Delivered)
    assert recorded["auth"] == "certificate"


async def test_finished_streams_leave_nothing_behind_on_the_connection(
    emulator: RunningApnsEmulator, clock: FrozenClock
) -> None:
    provider = await create_apns_provider(
        DispatcherSettings(**emulator.dispatcher_settings()), clock
    )
    gone = apns_token()
    await emulator.control(f"/emulator/tokens/{gone}/unregister")
    try:
        pushes = [
            push_request(clock.now(), "apns", gone if n % 5 == 0 else apns_token())
            for n in range(20)
        ]
        verdicts = [await provider.attempt(push, clock.now()) for push in pushes]
        connections, entries = provider.connections.held()
    finally:
        await provider.close()

    assert sum(isinstance(verdict, Delivered) for verdict in verdicts) == 16
    assert connections > 0
    assert entries == 0


async def test_each_device_is_pushed_in_the_environment_that_issued_its_token(
    emulator: RunningApnsEmulator, tmp_path: Path, clock: FrozenClock
) -> None:
    """One app, two emulators standing for Apple's two hosts: a device that says sandbox goes to
    the sandbox host, one that says production or nothing to the app's own (production)."""
    async with apns_emulator(tmp_path / "sandbox", clock=clock, like=emulator) as sandbox:
        settings = DispatcherSettings(
            **emulator.dispatcher_settings(),
            apns_environment="production",
            apns_sandbox_host=sandbox.host,
            apns_sandbox_port=sandbox.tls_port,
        )
        provider = await create_apns_provider(settings, clock)
        development, store_build, unsaid = apns_token(), apns_token(), apns_token()
        try:
            verdicts = [
                await provider.attempt(
                    push_request(clock.now(), "apns", token, apns_environment=environment),
                    clock.now(),
                )
                for token, environment in (
                    (development, "sandbox"),
                    (store_build, "production"),
                    (unsaid, None),
                )
            ]
        finally:
            await provider.close()
        in_sandbox = {m["token"] for m in await sandbox.recorded()}
    in_production = {m["token"] for m in await emulator.recorded()}

    assert all(isinstance(verdict, Delivered) for verdict in verdicts)
    assert in_sandbox == {development}
    assert in_production == {store_build, unsaid}


async def windows_of(emulator: RunningApnsEmulator) -> tuple[int, int]:
    """The stream window the provider port advertises, and the connection window it allows a
    new connection (read once a PING is answered: the server wrote both before the answer)."""
    context = ssl.create_default_context(cafile=str(emulator.ca.cert_path))
    context.set_alpn_protocols(["h2"])
    reader, writer = await asyncio.open_connection(emulator.host, emulator.tls_port, ssl=context)
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    client.initiate_connection()
    client.ping(b"windows!")
    writer.write(client.data_to_send())
    try:
        async with asyncio.timeout(5):
            answered = False
            while not answered:
                events = client.receive_data(await reader.read(65_536))
                answered = any(isinstance(e, h2.events.PingAckReceived) for e in events)
    finally:
        writer.close()
    return client.remote_settings.initial_window_size, client.outbound_flow_control_window


async def test_the_provider_port_advertises_http2s_default_windows_as_apns_does(
    emulator: RunningApnsEmulator,
) -> None:
    assert await windows_of(emulator) == (65_535, 65_535)


async def test_the_windows_are_settings(tmp_path: Path, clock: FrozenClock) -> None:
    async with apns_emulator(
        tmp_path, clock=clock, stream_window=1000, connection_window=1_000_000
    ) as small_streams:
        assert await windows_of(small_streams) == (1000, 1_000_000)
