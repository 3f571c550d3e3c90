"""The aioapns adapter leans on aioapns internals: it refuses an aioapns it was not tested with,
a test fails when the aioapns methods it relies on change, a request past the server's
flow-control window waits for it instead of failing, a send that timed out is withdrawn if it can
be and otherwise cannot break the connection nor answer a retry when its reply comes late, a
stream APNs resets fails its send at once and frees its channel, and GOAWAY sends back as
unprocessed what APNs cannot have processed."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import pytest
from aioapns.common import DynamicBoundedSemaphore, NotificationRequest, NotificationResult
from aioapns.connection import (
    APNsBaseClientProtocol,
    APNsBaseConnectionPool,
    APNsTLSClientProtocol,
    ChannelPool,
    H2Protocol,
)
from aioapns.exceptions import ConnectionClosed
from h2.errors import ErrorCodes
from hyperframe.frame import GoAwayFrame, SettingsFrame

from services.dispatcher.platforms.apns.aioapns_adapter import (
    TESTED_VERSIONS,
    RetryAfterNotes,
    check_version,
    protocol_class,
)
from services.dispatcher.transport.base import NotProcessed
from tests.support.h2_memory import DEFAULT_WINDOW, MemoryH2Server, Wire

pytestmark = pytest.mark.unit

TOPIC = "com.example.herald"


def test_the_installed_aioapns_is_one_the_adapter_was_tested_with() -> None:
    assert version("aioapns") in TESTED_VERSIONS


def test_another_aioapns_is_refused_naming_both_versions() -> None:
    refused = r"aioapns 4\.9 is installed.*tested only with aioapns 4\.0"
    with pytest.raises(ImportError, match=refused):
        check_version("4.9")


#: aioapns 4.0's methods the adapter relies on, by the SHA-256 of their source:
#: ``send_notification`` hands a body to ``conn.send_data`` and flushes, then registers the reply's
#: future under its apns-id and its stream, and awaits only it; ``data_received`` hands on only
#: the events ``conn.receive_data`` returns (a stream reset it would merely log) and flushes after
#: it (which sends what the new credit allows); a new connection starts h2, flushes and arms the
#: idle timer through ``refresh_inactivity_timer``; closing cancels the idle timer; replies
#: set the future registered under their apns-id; a lost connection cancels the idle timer and
#: fails every registered future, then the sends waiting for a channel; GOAWAY closes the
#: connection; a channel comes
#: back only when a stream ends, a release never beyond the bound; a send whose wait for a channel
#: fails takes no stream id; the pool lets NotProcessed through (resent uncounted) and retries
#: ConnectionClosed on another connection until its attempts run out.
RELIED_ON = {
    APNsBaseClientProtocol.send_notification: (
        "8d4808f344caba34752a09e9b1abfcf916d0b84619440592f2ca00ab7319796b"
    ),
    H2Protocol.data_received: "0f955fb296c337801a557c4fa8c5167ff89d7884806133e707e200cbcfd2ec5b",
    H2Protocol.connection_made: (
        "999fab6ce00342e87f9952737dc1e13692eb61cf575c4573ef2934ad7b03d63b"
    ),
    APNsBaseClientProtocol.connection_made: (
        "bc2c950a91144022a53e90d3052780ec0d01bdf8623fef96573551ccd32bbec5"
    ),
    APNsTLSClientProtocol.close: (
        "bbcd05065bed870b3e15d5b8f0a540a9d312331ceddec9a25517dcbe78a8688c"
    ),
    APNsBaseClientProtocol.on_response_received: (
        "df66c123ea3e89d0a4d50cec3f3d5f92ed65733d8d5b57897a561037ebe5082f"
    ),
    APNsBaseClientProtocol.on_data_received: (
        "c9b5ab7499bf20ae21a87e22df174b2f44365f36c04d864fc9cd52cd9c383e32"
    ),
    APNsBaseClientProtocol.connection_lost: (
        "3c7a59bfe89966cf4d7057b5b3931fe68178d5d5e672b652fa4379450ff5bbb3"
    ),
    APNsBaseClientProtocol.on_connection_terminated: (
        "f06fdd4acb339629619f95d7b12c19d2d8bb46f23fb5c01f45e3c5416b21cb0c"
    ),
    H2Protocol.on_stream_ended: "5bb6d3b22c2eaf6dceee884f3718b497c845f933aae073b1681800ea4f8c7b80",
    DynamicBoundedSemaphore.release: (
        "e2d59053b006567e823f6b580290325c45a7fdb0240c455af8a07e53280f1028"
    ),
    ChannelPool.acquire: "5521e5b553f7258afa31b5e1ae46b4985a88657568e2dfb16032b4f178794a1d",
    APNsBaseConnectionPool.send_notification: (
        "4ab8672897dfd1df7635c498ffe988fef2167f7572b7770b94a987d60e13b39a"
    ),
}


@pytest.mark.parametrize("method", RELIED_ON, ids=lambda m: m.__qualname__)
def test_aioapns_still_sends_and_receives_as_the_windowed_connection_expects(
    method: Callable[..., Any],
) -> None:
    source = inspect.getsource(method)
    assert hashlib.sha256(source.encode()).hexdigest() == RELIED_ON[method], (
        f"aioapns' {method.__qualname__} changed: check it still does what RELIED_ON's "
        "comment says (aioapns_adapter.py, windowed_h2.py), then update RELIED_ON and "
        "TESTED_VERSIONS"
    )


LARGE = {"aps": {"alert": "x" * 4000}}
SMALL = {"aps": {"alert": "hi"}}


async def next_pass() -> None:
    """Let what is ready run, then what it wrote leave: the adapter writes at the end of a loop
    pass what the sends of that pass made."""
    await asyncio.sleep(0)
    await asyncio.sleep(0)


def open_client(server: MemoryH2Server) -> tuple[APNsTLSClientProtocol, Wire]:
    """The adapter's protocol connected to ``server`` in memory, settings exchanged."""
    wire = Wire()
    client = protocol_class("apns.test", 443, RetryAfterNotes())(TOPIC, asyncio.get_running_loop())
    client.connection_made(wire)
    server.read(wire.take())
    client.data_received(server.h2.data_to_send())
    return client, wire


def start(
    client: APNsTLSClientProtocol, alert: dict[str, Any], apns_id: str
) -> asyncio.Future[NotificationResult]:
    return asyncio.ensure_future(
        client.send_notification(NotificationRequest("ab" * 32, alert, apns_id))
    )


def streams(server: MemoryH2Server) -> dict[str, int]:
    """The stream of each request the server has seen, by apns-id."""
    return {headers[b"apns-id"].decode(): s for s, headers in server.headers.items()}


async def serve(
    client: APNsTLSClientProtocol,
    wire: Wire,
    server: MemoryH2Server,
    sends: list[asyncio.Future[NotificationResult]],
) -> set[int]:
    """Credit and answer 200 to every request the server has whole until ``sends`` are done;
    the streams answered."""
    answered: set[int] = set()
    for _ in range(100):
        if all(send.done() for send in sends):
            break
        server.credit()
        for stream_id in set(server.ended) - answered - set(server.dropped):
            server.answer(stream_id)
            answered.add(stream_id)
        client.data_received(server.h2.data_to_send())
        await next_pass()
        server.read(wire.take())
    return answered


async def test_aioapns_requests_past_the_window_wait_for_it_and_all_get_their_reply() -> None:
    server = MemoryH2Server()
    client, wire = open_client(server)
    sends = [start(client, LARGE, f"push-{i}") for i in range(40)]
    await next_pass()
    server.read(wire.take())
    before_credit = server.received
    answered = await serve(client, wire, server, sends)
    results = await asyncio.gather(*sends)
    client.close()

    assert before_credit == DEFAULT_WINDOW
    assert [r.status for r in results] == ["200"] * 40
    assert len(answered) == 40
    assert all(len(body) == len(json.dumps(LARGE)) for body in server.bodies.values())


async def test_on_goaway_requests_whose_body_waited_for_window_fail_unprocessed() -> None:
    server = MemoryH2Server()
    client, wire = open_client(server)
    sends = [start(client, LARGE, f"push-{i}") for i in range(20)]
    await next_pass()
    server.read(wire.take())
    server.h2.close_connection(last_stream_id=max(server.headers))
    client.data_received(server.h2.data_to_send())
    await next_pass()

    whole = [send for send in sends[:16] if not send.done()]
    unprocessed = [send for send in sends[16:] if isinstance(send.exception(), NotProcessed)]
    for send in whole:
        send.cancel()
    client.close()
    assert (len(whole), len(unprocessed)) == (16, 4)


async def test_a_send_cancelled_while_its_body_waits_is_withdrawn_and_frees_its_channel() -> None:
    server = MemoryH2Server(max_streams=20)
    client, wire = open_client(server)
    sends = [start(client, LARGE, f"push-{i}") for i in range(20)]
    await next_pass()
    server.read(wire.take())
    busy = client.is_busy

    sends[18].cancel()
    await next_pass()
    freed = not client.is_busy
    after = start(client, SMALL, "after")
    await next_pass()
    server.read(wire.take())
    after_opened = "after" in streams(server)
    await serve(client, wire, server, [*sends[:18], sends[19], after])

    withdrawn = streams(server)["push-18"]
    assert (busy, freed, after_opened) == (True, True, True)
    assert server.reset == {withdrawn: ErrorCodes.CANCEL}
    assert withdrawn not in server.ended
    assert len(server.bodies.get(withdrawn, b"")) < len(json.dumps(LARGE))
    assert (await after).status == "200"
    assert (client.requests, client.request_streams) == ({}, {})


async def test_late_replies_to_cancelled_sends_are_dropped_and_the_connection_serves_on() -> None:
    server = MemoryH2Server()
    client, wire = open_client(server)
    accepted, refused, other = (start(client, SMALL, f"push-{i}") for i in range(3))
    await next_pass()
    server.read(wire.take())
    accepted.cancel()
    refused.cancel()
    await next_pass()

    opened = streams(server)
    server.answer(opened["push-0"])
    server.answer(opened["push-1"], 400, reason="BadDeviceToken")
    server.answer(opened["push-2"])
    client.data_received(server.h2.data_to_send())
    after = start(client, SMALL, "after")
    await next_pass()
    server.read(wire.take())
    server.answer(streams(server)["after"])
    client.data_received(server.h2.data_to_send())

    assert [(await other).status, (await after).status] == ["200", "200"]
    assert (client.requests, client.request_streams, client.request_statuses) == ({}, {}, {})
    assert not server.reset


async def test_a_lost_connection_fails_every_other_send_though_one_was_cancelled() -> None:
    server = MemoryH2Server(max_streams=2)
    client, _ = open_client(server)
    cancelled, in_flight, queued = (start(client, SMALL, f"push-{i}") for i in range(3))
    await next_pass()

    cancelled.cancel()
    client.connection_lost(None)
    await next_pass()

    for send in (in_flight, queued):
        with pytest.raises(ConnectionClosed):
            await send
    assert cancelled.cancelled()


@pytest.mark.parametrize(
    ("code", "error"),
    [(ErrorCodes.REFUSED_STREAM, NotProcessed), (ErrorCodes.INTERNAL_ERROR, ConnectionClosed)],
)
@pytest.mark.parametrize("alert", [SMALL, LARGE], ids=["body-sent", "body-waiting"])
async def test_a_stream_apns_resets_fails_its_send_at_once_and_frees_its_channel(
    code: ErrorCodes, error: type[Exception], alert: dict[str, Any]
) -> None:
    server = MemoryH2Server(max_streams=20)
    client, wire = open_client(server)
    sends = [start(client, alert, f"push-{i}") for i in range(20)]
    await next_pass()
    server.read(wire.take())
    busy = client.is_busy

    reset = streams(server)["push-18"]
    server.drop(reset, code)
    client.data_received(server.h2.data_to_send())
    await next_pass()
    failed = sends[18].done() and isinstance(sends[18].exception(), error)
    freed = not client.is_busy
    after = start(client, SMALL, "after")
    answered = await serve(client, wire, server, [*sends[:18], sends[19], after])

    assert (busy, failed, freed) == (True, True, True)
    assert len(answered) == 20
    assert (await after).status == "200"
    assert (client.requests, client.request_streams, client.request_statuses) == ({}, {}, {})


@pytest.mark.parametrize(
    ("status", "reason"), [(200, None), (429, "TooManyRequests"), (500, "InternalServerError")]
)
async def test_a_late_reply_to_a_timed_out_send_never_answers_its_retry_on_the_connection(
    status: int, reason: str | None
) -> None:
    server = MemoryH2Server(max_streams=2)
    client, wire = open_client(server)
    timed_out = start(client, SMALL, "push")
    await next_pass()
    server.read(wire.take())
    timed_out.cancel()
    await next_pass()
    retry = start(client, SMALL, "push")
    await next_pass()
    server.read(wire.take())
    old, new = sorted(server.headers)

    server.answer(old, status, reason=reason)
    client.data_received(server.h2.data_to_send())
    await next_pass()
    waited = not retry.done()
    server.answer(new, 410, reason="Unregistered")
    client.data_received(server.h2.data_to_send())
    result = await retry
    entries = (dict(client.requests), dict(client.request_streams), dict(client.request_statuses))
    later = [start(client, SMALL, f"later-{i}") for i in range(2)]
    await next_pass()
    server.read(wire.take())
    opened = len(server.headers)
    for send in later:
        send.cancel()
    client.close()

    assert waited
    assert (result.status, result.description) == ("410", "Unregistered")
    assert entries == ({}, {}, {})
    assert opened == 4


async def test_on_goaway_sends_waiting_for_a_channel_fail_unprocessed_at_once() -> None:
    server = MemoryH2Server(max_streams=2)
    client, wire = open_client(server)
    in_flight = [start(client, SMALL, f"push-{i}") for i in range(2)]
    queued = start(client, SMALL, "queued")
    await next_pass()
    server.read(wire.take())

    server.h2.close_connection(last_stream_id=max(server.headers))
    client.data_received(server.h2.data_to_send())
    await next_pass()
    unprocessed = queued.done() and isinstance(queued.exception(), NotProcessed)
    waiting = [send for send in in_flight if not send.done()]
    for send in waiting:
        send.cancel()
    client.close()

    assert unprocessed
    assert len(waiting) == 2


async def test_after_a_goaway_no_send_is_taken_and_it_closes_after_its_kept_replies() -> None:
    server = MemoryH2Server()
    client, wire = open_client(server)
    sends = [start(client, SMALL, f"push-{i}") for i in range(2)]
    await next_pass()
    server.read(wire.take())
    goaway = GoAwayFrame(0)
    goaway.last_stream_id = max(server.headers)
    settings = SettingsFrame(0)
    settings.settings = {SettingsFrame.MAX_CONCURRENT_STREAMS: 100}
    client.data_received(goaway.serialize() + settings.serialize())
    first, second = sorted(server.headers)
    server.answer(second)
    client.data_received(server.h2.data_to_send())
    busy, closed_early = client.is_busy, wire.closed
    server.answer(first, 410, "Unregistered")
    client.data_received(server.h2.data_to_send())
    results = await asyncio.gather(*sends)

    assert busy
    assert not closed_early
    assert wire.closed
    assert [r.status for r in results] == ["410", "200"]


class CountingWire(Wire):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes += 1
        super().write(data)


async def test_the_sends_of_one_loop_pass_leave_in_one_write() -> None:
    server = MemoryH2Server()
    wire = CountingWire()
    client = protocol_class("apns.test", 443, RetryAfterNotes())(TOPIC, asyncio.get_running_loop())
    client.connection_made(wire)
    server.read(wire.take())
    client.data_received(server.h2.data_to_send())
    await next_pass()
    wire.writes = 0
    sends = [start(client, SMALL, f"push-{i}") for i in range(10)]
    await next_pass()
    server.read(wire.take())
    writes = wire.writes
    for send in sends:
        send.cancel()
    client.close()

    assert writes == 1
    assert len(server.headers) == 10


async def test_an_idle_connection_closes_once_idle_long_enough_and_not_before() -> None:
    server = MemoryH2Server()
    wire = Wire()
    protocol = protocol_class("apns.test", 443, RetryAfterNotes(), idle_seconds=60)
    client: Any = protocol(TOPIC, asyncio.get_running_loop())
    client.connection_made(wire)
    server.read(wire.take())
    client.data_received(server.h2.data_to_send())
    send = start(client, SMALL, "push")
    await next_pass()
    server.read(wire.take())
    server.answer(streams(server)["push"])
    client.data_received(server.h2.data_to_send())
    await send
    armed = client.inactivity_timer

    client.active_at = client.loop.time() - 59
    client._close_if_idle()
    open_while_active = not wire.closed
    rearmed = client.inactivity_timer
    client.active_at = client.loop.time() - 60
    client._close_if_idle()

    assert armed is not None
    assert open_while_active
    assert rearmed is not armed
    assert rearmed is not None
    assert 0 < rearmed.when() - client.loop.time() <= 1
    assert wire.closed
