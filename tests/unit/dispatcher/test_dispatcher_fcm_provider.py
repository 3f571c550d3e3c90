"""The FCM provider at the wire: request shape, replies to verdicts, refused tokens, failures."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest

from services.dispatcher.domain import Delivered, Pause, Reauthenticate, Rejected, RetryLater
from services.dispatcher.platforms.fcm.auth import AccessTokens
from services.dispatcher.platforms.fcm.provider import FcmProvider
from services.dispatcher.transport import HttpxSender
from shared.platforms.base import CredentialsError
from shared.platforms.fcm.payload import RenderOptions
from tests.support.clock import FrozenClock
from tests.support.factories import push_request

pytestmark = pytest.mark.unit

Handler = Callable[[httpx.Request], httpx.Response]


class Tokens:
    def __init__(self) -> None:
        self.issued = 0

    def __call__(self) -> tuple[str, timedelta]:
        self.issued += 1
        return f"access-{self.issued}", timedelta(hours=1)


SEND_URL = "https://fcm.test/v1/projects/proj-1/messages:send"


def sender(handler: Handler) -> HttpxSender:
    return HttpxSender(httpx.AsyncClient(transport=httpx.MockTransport(handler)))


def provider(handler: Handler, clock: FrozenClock, refresh: Tokens | None = None) -> FcmProvider:
    tokens = AccessTokens(refresh or Tokens(), clock, timedelta(minutes=5))
    return FcmProvider(sender(handler), tokens, SEND_URL, RenderOptions())


async def test_sends_a_v1_request_with_bearer_token_and_rendered_body() -> None:
    clock = FrozenClock()
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"name": "projects/proj-1/messages/9"})

    subject = provider(handler, clock)
    push = push_request(clock.now(), "fcm", token="tok-a")

    verdict = await subject.attempt(push, clock.now())
    await subject.close()

    assert verdict == Delivered(200, "projects/proj-1/messages/9")
    assert str(seen[0].url) == "https://fcm.test/v1/projects/proj-1/messages:send"
    assert seen[0].headers["authorization"] == "Bearer access-1"
    assert json.loads(seen[0].content)["message"]["token"] == "tok-a"


async def test_a_refused_access_token_is_dropped_so_the_retry_gets_a_new_one() -> None:
    clock = FrozenClock()
    used: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        used.append(request.headers["authorization"])
        if len(used) == 1:
            return httpx.Response(401, json={"error": {"code": 401, "status": "UNAUTHENTICATED"}})
        return httpx.Response(200, json={"name": "n"})

    subject = provider(handler, clock)
    push = push_request(clock.now(), "fcm")

    first = await subject.attempt(push, clock.now())
    second = await subject.attempt(push, clock.now())

    assert isinstance(first, Reauthenticate)
    assert isinstance(second, Delivered)
    assert used == ["Bearer access-1", "Bearer access-2"]


async def test_retry_after_header_reaches_the_verdict() -> None:
    clock = FrozenClock()

    def handler(_: httpx.Request) -> httpx.Response:
        body = {"error": {"code": 503, "status": "UNAVAILABLE", "message": "down"}}
        return httpx.Response(503, json=body, headers={"Retry-After": "12"})

    verdict = await provider(handler, clock).attempt(push_request(clock.now(), "fcm"), clock.now())

    assert isinstance(verdict, RetryLater)
    assert verdict.wait_at_least == 12.0


async def test_connection_failures_are_retried() -> None:
    clock = FrozenClock()

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    verdict = await provider(handler, clock).attempt(push_request(clock.now(), "fcm"), clock.now())

    assert isinstance(verdict, RetryLater)
    assert verdict.status is None


async def test_a_non_json_error_body_is_still_classified() -> None:
    clock = FrozenClock()

    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text="<html>bad request</html>")

    verdict = await provider(handler, clock).attempt(push_request(clock.now(), "fcm"), clock.now())

    assert isinstance(verdict, Rejected)
    assert verdict.outcome == "failed"


async def test_no_access_token_pauses_the_app() -> None:
    clock = FrozenClock()

    def refuse() -> tuple[str, timedelta]:
        raise CredentialsError("invalid_grant")

    subject = FcmProvider(
        sender(lambda _: httpx.Response(200, json={"name": "n"})),
        AccessTokens(refuse, clock, timedelta(minutes=5)),
        SEND_URL,
        RenderOptions(),
    )

    verdict = await subject.attempt(push_request(clock.now(), "fcm"), clock.now())

    assert isinstance(verdict, Pause)
    assert "invalid_grant" in verdict.reason
