"""The aioapns adapter leans on aioapns internals: it refuses an aioapns it was not tested with,
a test fails when the aioapns methods it relies on change, and a request past the server's
flow-control window waits for it instead of failing."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import pytest
from aioapns.common import NotificationRequest
from aioapns.connection import APNsBaseClientProtocol, H2Protocol

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


#: aioapns 4.0's methods the windowed connection relies on, by the SHA-256 of their source:
#: ``send_notification`` hands a body to ``conn.send_data`` and flushes, ``data_received`` flushes
#: after ``conn.receive_data`` (which sends what the new credit allows), ``flush`` writes
#: ``conn.data_to_send()``.
RELIED_ON = {
    APNsBaseClientProtocol.send_notification: (
        "8d4808f344caba34752a09e9b1abfcf916d0b84619440592f2ca00ab7319796b"
    ),
    H2Protocol.data_received: "0f955fb296c337801a557c4fa8c5167ff89d7884806133e707e200cbcfd2ec5b",
    APNsBaseClientProtocol.flush: (
        "65ebe47e664238924716d9ff6ff6847df69beeb8380cb24649df54b24600ab76"
    ),
}


@pytest.mark.parametrize("method", RELIED_ON, ids=lambda m: m.__qualname__)
def test_aioapns_still_sends_and_receives_as_the_windowed_connection_expects(
    method: Callable[..., Any],
) -> None:
    source = inspect.getsource(method)
    assert hashlib.sha256(source.encode()).hexdigest() == RELIED_ON[method], (
        f"aioapns' {method.__qualname__} changed: check that bodies still go through "
        "conn.send_data and credit through conn.receive_data (windowed_h2.py), then update "
        "RELIED_ON and TESTED_VERSIONS"
    )


async def test_aioapns_requests_past_the_window_wait_for_it_and_all_get_their_reply() -> None:
    wire, server = Wire(), MemoryH2Server()
    client = protocol_class("apns.test", 443, RetryAfterNotes())(TOPIC, asyncio.get_running_loop())
    client.connection_made(wire)
    server.read(wire.take())
    client.data_received(server.h2.data_to_send())
    alert = {"aps": {"alert": "x" * 4000}}
    sends = [
        asyncio.ensure_future(client.send_notification(NotificationRequest("ab" * 32, alert)))
        for _ in range(40)
    ]
    await asyncio.sleep(0)
    server.read(wire.take())
    before_credit = server.received
    answered: set[int] = set()
    for _ in range(100):
        if all(send.done() for send in sends):
            break
        server.credit()
        for stream_id in set(server.ended) - answered:
            server.answer(stream_id)
            answered.add(stream_id)
        client.data_received(server.h2.data_to_send())
        await asyncio.sleep(0)
        server.read(wire.take())
    results = await asyncio.gather(*sends)
    client.close()

    assert before_credit == DEFAULT_WINDOW
    assert [r.status for r in results] == ["200"] * 40
    assert len(answered) == 40
    assert all(len(body) == len(json.dumps(alert)) for body in server.bodies.values())


async def test_on_goaway_requests_whose_body_waited_for_window_fail_unprocessed() -> None:
    wire, server = Wire(), MemoryH2Server()
    client = protocol_class("apns.test", 443, RetryAfterNotes())(TOPIC, asyncio.get_running_loop())
    client.connection_made(wire)
    server.read(wire.take())
    client.data_received(server.h2.data_to_send())
    alert = {"aps": {"alert": "x" * 4000}}
    sends = [
        asyncio.ensure_future(client.send_notification(NotificationRequest("ab" * 32, alert)))
        for _ in range(20)
    ]
    await asyncio.sleep(0)
    server.read(wire.take())
    server.h2.close_connection(last_stream_id=max(server.headers))
    client.data_received(server.h2.data_to_send())
    await asyncio.sleep(0)

    whole = [send for send in sends[:16] if not send.done()]
    unprocessed = [send for send in sends[16:] if isinstance(send.exception(), NotProcessed)]
    for send in whole:
        send.cancel()
    client.close()
    assert (len(whole), len(unprocessed)) == (16, 4)
