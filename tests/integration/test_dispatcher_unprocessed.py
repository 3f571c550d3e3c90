"""Requests a server never processed (RFC 9113 8.7: above a GOAWAY's last stream id, refused with
REFUSED_STREAM) go again at once on a usable connection, and do not count as an attempt: through
the dispatcher's own HTTP/2 client (FCM, Web Push) and through the aioapns adapter (APNs)."""

from __future__ import annotations

import asyncio
import ssl
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from contracts.push import PushRequest
from services.dispatcher.delivery import Deliverer, Done
from services.dispatcher.domain import PausePolicy, RetryPolicy
from services.dispatcher.pauses import Pauses
from services.dispatcher.platforms.apns.aioapns_adapter import ApnsConnections, create_connections
from services.dispatcher.platforms.apns.tokens import load_provider_tokens
from services.dispatcher.platforms.fcm.auth import AccessTokens
from services.dispatcher.platforms.fcm.provider import FcmProvider
from services.dispatcher.transport import ConnectionFailed, H2Client, HttpxSender
from services.emulators.apns.keys import write_auth_key
from services.emulators.tls import LocalCa
from shared.platforms.apns import payload as apns_payload
from shared.platforms.fcm.payload import RenderOptions
from tests.support.clock import FrozenClock
from tests.support.factories import push_request
from tests.support.h2_scripted import Action, scripted_server

pytestmark = pytest.mark.integration


def h2_client(ca: LocalCa) -> H2Client:
    tls = ssl.create_default_context(cafile=str(ca.cert_path))
    fallback = HttpxSender(httpx.AsyncClient(trust_env=False))
    return H2Client(tls, connect_timeout=5, fallback=fallback)


def goaway_on_the_first_connection(connection: int, seen: int) -> Action:
    """The first connection answers its first request, then leaves the next two unprocessed."""
    return "hold" if connection == 1 and seen > 1 else "answer"


async def test_requests_above_a_goaways_last_stream_go_again_on_a_new_connection(
    tmp_path: Path,
) -> None:
    async with scripted_server(
        tmp_path,
        goaway_on_the_first_connection,
        goaway_after=lambda connection: 3 if connection == 1 else 0,
    ) as (port, ca, served):
        subject = h2_client(ca)
        try:
            replies = await asyncio.gather(
                *(subject.post(f"https://127.0.0.1:{port}/send", {}, b"{}") for _ in range(3))
            )
        finally:
            await subject.aclose()

    assert [reply.status for reply in replies] == [200, 200, 200]
    assert (served.goaways, served.answered) == (1, {1: 1, 2: 2})


async def test_requests_a_graceful_goaway_keeps_are_answered_on_their_connection_once(
    tmp_path: Path,
) -> None:
    async with scripted_server(
        tmp_path,
        lambda connection, seen: "hold" if connection == 1 else "answer",
        goaway_after=lambda connection: 3 if connection == 1 else 0,
        graceful=True,
    ) as (port, ca, served):
        subject = h2_client(ca)
        try:
            replies = await asyncio.gather(
                *(subject.post(f"https://127.0.0.1:{port}/send", {}, b"{}") for _ in range(3))
            )
            after = await subject.post(f"https://127.0.0.1:{port}/send", {}, b"{}")
        finally:
            await subject.aclose()

    assert [reply.status for reply in replies] == [200, 200, 200]
    assert after.status == 200
    assert (served.goaways, served.answered) == (1, {1: 3, 2: 1})


async def test_a_refused_stream_goes_again_and_is_answered(tmp_path: Path) -> None:
    async with scripted_server(
        tmp_path, lambda connection, seen: "refuse" if seen == 1 else "answer"
    ) as (port, ca, served):
        subject = h2_client(ca)
        try:
            reply = await subject.post(f"https://127.0.0.1:{port}/send", {}, b"{}")
        finally:
            await subject.aclose()

    assert reply.status == 200
    assert (served.refused, served.answered) == (1, {1: 1})


async def test_a_server_that_refuses_everything_is_a_connection_failure_after_a_few(
    tmp_path: Path,
) -> None:
    async with scripted_server(tmp_path, lambda connection, seen: "refuse") as (port, ca, served):
        subject = h2_client(ca)
        try:
            with pytest.raises(ConnectionFailed, match="refused 3 times unprocessed"):
                await subject.post(f"https://127.0.0.1:{port}/send", {}, b"{}")
        finally:
            await subject.aclose()

    assert served.refused == 3


async def test_a_push_resent_after_a_refusal_counts_one_attempt(tmp_path: Path) -> None:
    clock = FrozenClock()
    async with scripted_server(
        tmp_path, lambda connection, seen: "refuse" if seen <= 2 else "answer"
    ) as (port, ca, served):
        sender = h2_client(ca)
        tokens = AccessTokens(lambda: ("token", timedelta(hours=1)), clock, timedelta(minutes=5))
        provider = FcmProvider(sender, tokens, f"https://127.0.0.1:{port}/send", RenderOptions())
        pauses = Pauses(PausePolicy(30.0, 300.0), lambda app_id: None)
        deliverer = Deliverer(provider, clock, RetryPolicy(1.0, 60.0), pauses)
        try:
            step = await deliverer.step(push_request(clock.now(), "fcm"))
        finally:
            await provider.close()

    assert isinstance(step, Done)
    assert (step.result.outcome, step.result.attempts) == ("delivered", 1)
    assert served.refused == 2


def apns_connections(tmp_path: Path, port: int, ca: LocalCa) -> ApnsConnections:
    """The aioapns adapter's connections to the scripted server, with a provider token."""
    key = write_auth_key(tmp_path / "keys")
    tokens = load_provider_tokens(key, None, "TEAMHERALD", FrozenClock(), timedelta(minutes=40))
    return create_connections(
        host="127.0.0.1",
        port=port,
        topic="com.example.herald",
        tokens=tokens,
        cert_pem=None,
        ca_bundle=ca.cert_path,
        max_connections=2,
    )


async def test_apns_requests_above_a_goaways_last_stream_go_again_on_a_new_connection(
    tmp_path: Path,
) -> None:
    clock = FrozenClock()
    async with scripted_server(
        tmp_path / "server",
        goaway_on_the_first_connection,
        goaway_after=lambda connection: 3 if connection == 1 else 0,
    ) as (port, ca, served):
        connections = apns_connections(tmp_path, port, ca)
        requests = [push_request(clock.now(), "apns") for _ in range(3)]
        try:
            async with asyncio.timeout(10):
                replies = await asyncio.gather(
                    *(
                        connections.send(
                            r.token, apns_payload.render(r, clock.now()), str(r.event_id)
                        )
                        for r in requests
                    )
                )
        finally:
            connections.close()

    assert [(reply.status, reply.apns_id) for reply in replies] == [
        (200, str(r.event_id)) for r in requests
    ]
    assert (served.goaways, served.answered) == (1, {1: 1, 2: 2})


async def test_apns_requests_a_graceful_goaway_keeps_are_answered_on_their_connection_once(
    tmp_path: Path,
) -> None:
    clock = FrozenClock()
    async with scripted_server(
        tmp_path / "server",
        lambda connection, seen: "hold" if connection == 1 else "answer",
        goaway_after=lambda connection: 3 if connection == 1 else 0,
        graceful=True,
    ) as (port, ca, served):
        connections = apns_connections(tmp_path, port, ca)
        requests = [push_request(clock.now(), "apns") for _ in range(4)]

        async def send(request: PushRequest) -> tuple[int, str | None]:
            message = apns_payload.render(request, clock.now())
            reply = await connections.send(request.token, message, str(request.event_id))
            return reply.status, reply.apns_id

        try:
            async with asyncio.timeout(10):
                replies = await asyncio.gather(*(send(r) for r in requests[:3]))
                after = await send(requests[3])
        finally:
            connections.close()

    assert replies == [(200, str(r.event_id)) for r in requests[:3]]
    assert after == (200, str(requests[3].event_id))
    assert (served.goaways, served.answered) == (1, {1: 3, 2: 1})


async def test_an_apns_stream_refused_goes_again_at_once_and_is_answered(tmp_path: Path) -> None:
    clock = FrozenClock()
    async with scripted_server(
        tmp_path / "server", lambda connection, seen: "refuse" if seen == 1 else "answer"
    ) as (port, ca, served):
        connections = apns_connections(tmp_path, port, ca)
        request = push_request(clock.now(), "apns")
        message = apns_payload.render(request, clock.now())
        try:
            async with asyncio.timeout(5):
                reply = await connections.send(request.token, message, str(request.event_id))
            held = connections.held()
        finally:
            connections.close()

    assert (reply.status, reply.apns_id) == (200, str(request.event_id))
    assert (served.refused, served.answered) == (1, {1: 1})
    assert held == (1, 0)
