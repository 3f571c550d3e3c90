"""The FCM emulator (plain-HTTP side): google-auth gets tokens from it, and it answers like FCM."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import google.auth.exceptions
import httpx
import jwt
import pytest
import requests
from google.auth.transport.requests import Request as GoogleRequest
from google.oauth2 import service_account

from services.dispatcher.platforms.fcm.auth import ServiceAccountRefresher
from services.emulators.fcm.accounts import GOOGLE_OAUTH_AUDIENCE, write_service_account
from services.emulators.fcm.oauth import JWT_BEARER_GRANT
from shared.platforms.base import CredentialsError
from tests.support.clock import FrozenClock
from tests.support.fcm import RunningEmulator, fcm_emulator

pytestmark = pytest.mark.integration

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"


def signed_assertion(account: dict[str, str], now: float, **claims: Any) -> str:
    payload: dict[str, Any] = {
        "iss": account["client_email"],
        "aud": GOOGLE_OAUTH_AUDIENCE,
        "scope": SCOPE,
        "iat": int(now),
        "exp": int(now) + 3600,
    }
    payload.update(claims)
    return jwt.encode(
        payload,
        account["private_key"],
        algorithm="RS256",
        headers={"kid": account["private_key_id"]},
    )


async def grant(emulator: RunningEmulator, assertion: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=emulator.base_url, trust_env=False) as client:
        return await client.post(
            "/token", data={"grant_type": JWT_BEARER_GRANT, "assertion": assertion}
        )


async def access_token(emulator: RunningEmulator, now: float | None = None) -> str:
    reply = await grant(emulator, signed_assertion(emulator.account, now or time.time()))
    reply.raise_for_status()
    return str(reply.json()["access_token"])


async def send(
    emulator: RunningEmulator, token: str | None, body: Any, project: str | None = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = f"/v1/projects/{project or emulator.project_id}/messages:send"
    async with httpx.AsyncClient(base_url=emulator.base_url, trust_env=False) as client:
        if isinstance(body, bytes):
            return await client.post(url, content=body, headers=headers)
        return await client.post(url, json=body, headers=headers)


def fcm_code(reply: httpx.Response) -> str | None:
    for detail in reply.json()["error"].get("details", []):
        if detail["@type"] == FCM_ERROR:
            return str(detail["errorCode"])
    return None


async def test_google_auth_token_sends_a_message_that_is_recorded(tmp_path: Path) -> None:
    async with fcm_emulator(tmp_path) as emulator:
        credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            str(emulator.account_path), scopes=[SCOPE]
        )
        session = requests.Session()
        session.trust_env = False
        await asyncio.to_thread(credentials.refresh, GoogleRequest(session))
        session.close()
        message = {"token": "device:1", "notification": {"title": "Hi", "body": "there"}}

        reply = await send(emulator, credentials.token, {"message": message})
        other = await send(emulator, credentials.token, {"message": {"token": "device:2"}})
        mine = await emulator.recorded(token="device:1")
        everything = await emulator.recorded()
        async with httpx.AsyncClient(base_url=emulator.base_url, trust_env=False) as client:
            await client.delete("/emulator/messages")
        after_clearing = await emulator.recorded()

    assert reply.status_code == 200
    assert other.status_code == 200
    assert reply.json()["name"].startswith(f"projects/{emulator.project_id}/messages/")
    assert [m["message"] for m in mine] == [message]
    assert mine[0]["name"] == reply.json()["name"]
    assert "received_at" in mine[0]
    assert len(everything) == 2
    assert after_clearing == []


async def test_google_auth_is_refused_for_an_untrusted_account(tmp_path: Path) -> None:
    async with fcm_emulator(tmp_path) as emulator:
        stranger = tmp_path / "stranger.json"
        write_service_account(
            stranger, project_id="herald-test", token_uri=f"{emulator.base_url}/token"
        )
        credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            str(stranger), scopes=[SCOPE]
        )
        session = requests.Session()
        session.trust_env = False
        with pytest.raises(google.auth.exceptions.RefreshError, match="invalid_grant"):
            await asyncio.to_thread(credentials.refresh, GoogleRequest(session))
        session.close()


@pytest.mark.parametrize(
    ("tamper", "description"),
    [
        ("other_key", "Invalid JWT Signature."),
        ("wrong_audience", "audience"),
        ("expired", "short-lived"),
    ],
)
async def test_bad_assertions_get_oauth_errors(
    tmp_path: Path, tamper: str, description: str
) -> None:
    async with fcm_emulator(tmp_path) as emulator:
        account = emulator.account
        now = time.time()
        if tamper == "other_key":
            other = write_service_account(
                tmp_path / "other.json", project_id="x", token_uri="http://127.0.0.1:1/token"
            )
            value = jwt.encode(
                {
                    "iss": account["client_email"],
                    "aud": GOOGLE_OAUTH_AUDIENCE,
                    "scope": SCOPE,
                    "iat": int(now),
                    "exp": int(now) + 3600,
                },
                other["private_key"],
                algorithm="RS256",
                headers={"kid": account["private_key_id"]},
            )
        elif tamper == "wrong_audience":
            value = signed_assertion(account, now, aud=f"{emulator.base_url}/token")
        else:
            value = signed_assertion(account, now - 7200)

        reply = await grant(emulator, value)

    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_grant"
    assert description in reply.json()["error_description"]


async def test_missing_or_unknown_bearer_is_unauthenticated(tmp_path: Path) -> None:
    async with fcm_emulator(tmp_path) as emulator:
        missing = await send(emulator, None, {"message": {"token": "t"}})
        unknown = await send(emulator, "ya29.made-up", {"message": {"token": "t"}})

    for reply in (missing, unknown):
        assert reply.status_code == 401
        assert reply.json()["error"]["status"] == "UNAUTHENTICATED"
        assert reply.headers["www-authenticate"].startswith("Bearer")


async def test_an_expired_access_token_is_unauthenticated(tmp_path: Path) -> None:
    clock = FrozenClock()
    async with fcm_emulator(tmp_path, clock=clock) as emulator:
        token = await access_token(emulator, now=clock.now().timestamp())
        fresh = await send(emulator, token, {"message": {"token": "t"}})
        clock.advance(seconds=3600)
        stale = await send(emulator, token, {"message": {"token": "t"}})

    assert fresh.status_code == 200
    assert stale.status_code == 401


async def test_another_project_is_permission_denied(tmp_path: Path) -> None:
    async with fcm_emulator(tmp_path) as emulator:
        token = await access_token(emulator)
        reply = await send(emulator, token, {"message": {"token": "t"}}, project="not-mine")

    assert reply.status_code == 403
    assert reply.json()["error"]["status"] == "PERMISSION_DENIED"


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        {"message": {"token": "t", "topic": "news"}},
        {"message": {"token": "t", "android": {"ttl": "ten seconds"}}},
        {"message": {"token": "t", "data": {"count": 3}}},
        {"message": {"token": "t", "notification": {"subtitle": "x"}}},
        {"message": {"token": "t"}, "unknown": True},
    ],
)
async def test_invalid_messages_are_invalid_argument(tmp_path: Path, body: Any) -> None:
    async with fcm_emulator(tmp_path) as emulator:
        token = await access_token(emulator)
        reply = await send(emulator, token, body)
        recorded = await emulator.recorded()

    assert reply.status_code == 400
    assert reply.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert recorded == []


async def test_an_oversize_message_is_refused(tmp_path: Path) -> None:
    async with fcm_emulator(tmp_path) as emulator:
        token = await access_token(emulator)
        data = {f"k{i}": "v" * 100 for i in range(40)}
        reply = await send(emulator, token, {"message": {"token": "t", "data": data}})

    assert reply.status_code == 400
    assert fcm_code(reply) == "INVALID_ARGUMENT"
    assert "too big" in reply.json()["error"]["message"]


async def test_validate_only_checks_without_recording(tmp_path: Path) -> None:
    async with fcm_emulator(tmp_path) as emulator:
        token = await access_token(emulator)
        body = {"message": {"token": "t", "notification": {"title": "x"}}, "validate_only": True}
        reply = await send(emulator, token, body)
        recorded = await emulator.recorded()

    assert reply.status_code == 200
    assert recorded == []


async def test_unregistered_and_malformed_tokens_answer_like_fcm(tmp_path: Path) -> None:
    async with fcm_emulator(tmp_path) as emulator:
        token = await access_token(emulator)
        await emulator.control("/emulator/tokens/gone:token/unregister")
        gone = await send(emulator, token, {"message": {"token": "gone:token"}})
        malformed = await send(emulator, token, {"message": {"token": "has spaces in it"}})
        alive = await send(emulator, token, {"message": {"token": "alive:token"}})

    assert gone.status_code == 404
    assert fcm_code(gone) == "UNREGISTERED"
    assert malformed.status_code == 400
    assert malformed.json()["error"]["message"] == (
        "The registration token is not a valid FCM registration token"
    )
    assert alive.status_code == 200


async def test_requested_outages_are_played_then_stop(tmp_path: Path) -> None:
    async with fcm_emulator(tmp_path) as emulator:
        token = await access_token(emulator)
        await emulator.control("/emulator/faults", {"status": 503, "count": 2, "retry_after": 4})
        replies = [await send(emulator, token, {"message": {"token": "t"}}) for _ in range(3)]

    assert [r.status_code for r in replies] == [503, 503, 200]
    assert replies[0].headers["retry-after"] == "4"
    assert fcm_code(replies[0]) == "UNAVAILABLE"


@contextmanager
def token_endpoint_over_tls(emulator: RunningEmulator, folder: Path) -> Iterator[str]:
    """The emulator's token endpoint behind HTTPS/1.1 with a certificate of its CA, as Google's
    is behind HTTPS (the emulator's TLS port speaks HTTP/2 only, which google-auth does not)."""
    files = emulator.ca.issue_server(folder, "token")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(files.cert, files.key)

    class Forward(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            reply = httpx.post(
                f"{emulator.base_url}/token",
                content=body,
                headers={"content-type": self.headers["content-type"]},
                trust_env=False,
            )
            self.send_response(reply.status_code)
            self.send_header("content-type", reply.headers["content-type"])
            self.send_header("content-length", str(len(reply.content)))
            self.end_headers()
            self.wfile.write(reply.content)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/token"
    finally:
        server.shutdown()
        server.server_close()


async def test_the_dispatchers_refresh_trusts_the_configured_ca_and_no_other(
    tmp_path: Path,
) -> None:
    async with fcm_emulator(tmp_path) as emulator:
        with token_endpoint_over_tls(emulator, tmp_path / "token") as token_uri:
            trusting = ServiceAccountRefresher(
                emulator.account_path,
                token_uri=token_uri,
                ca_bundle=emulator.ca.cert_path,
                timeout=5,
            )
            token, lifetime = await asyncio.to_thread(trusting)
            reply = await send(emulator, token, {"message": {"token": "device:1"}})
            untrusting = ServiceAccountRefresher(
                emulator.account_path, token_uri=token_uri, ca_bundle=None, timeout=5
            )
            with pytest.raises(CredentialsError, match="CERTIFICATE_VERIFY_FAILED"):
                await asyncio.to_thread(untrusting)
            trusting.close()
            untrusting.close()

    assert reply.status_code == 200
    assert 0 < lifetime.total_seconds() <= 3600


async def test_a_token_endpoint_that_never_answers_fails_the_refresh_in_time(
    tmp_path: Path,
) -> None:
    async with fcm_emulator(tmp_path) as emulator:
        with socket.create_server(("127.0.0.1", 0)) as silent:
            token_uri = f"http://127.0.0.1:{silent.getsockname()[1]}/token"
            refresher = ServiceAccountRefresher(
                emulator.account_path, token_uri=token_uri, ca_bundle=None, timeout=0.5
            )
            started = time.monotonic()
            with pytest.raises(CredentialsError, match="timed out"):
                await asyncio.to_thread(refresher)
            waited = time.monotonic() - started
            refresher.close()

    assert waited < 3
