"""The event-loop setting: a process runs on the loop HERALD_EVENT_LOOP names (uvloop unless
told), and Herald's HTTP/2 writer works on uvloop's transports, which are not
``asyncio.Transport`` instances."""

from __future__ import annotations

import asyncio
import socket

import h2.connection
import pytest
import uvloop
from pydantic import ValidationError

from shared.http2_io import H2Writer
from shared.runtime import run_on_loop
from shared.settings import EventLoopSettings

pytestmark = pytest.mark.unit

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def loop_class(settings: EventLoopSettings) -> type[asyncio.AbstractEventLoop]:
    seen: list[type[asyncio.AbstractEventLoop]] = []

    async def main() -> None:
        seen.append(type(asyncio.get_running_loop()))

    run_on_loop(main(), settings)
    return seen[0]


def test_uvloop_unless_asyncio_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HERALD_EVENT_LOOP", raising=False)
    default = EventLoopSettings()
    monkeypatch.setenv("HERALD_EVENT_LOOP", "asyncio")
    named = EventLoopSettings()

    assert default.event_loop == "uvloop"
    assert loop_class(default) is uvloop.Loop
    assert issubclass(loop_class(named), asyncio.SelectorEventLoop)


def test_an_unknown_loop_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERALD_EVENT_LOOP", "trio")

    with pytest.raises(ValidationError, match="event_loop"):
        EventLoopSettings()


def test_the_http2_writer_sends_on_a_uvloop_transport() -> None:
    async def first_bytes_out() -> bytes:
        ours, theirs = socket.socketpair()
        writer = H2Writer(h2.connection.H2Connection())

        class Client(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                writer.attach(transport)
                writer.connection.initiate_connection()
                writer.now()

        transport, _ = await asyncio.get_running_loop().create_connection(Client, sock=ours)
        reader, peer = await asyncio.open_connection(sock=theirs)
        try:
            return await asyncio.wait_for(reader.readexactly(len(H2_PREFACE)), timeout=5)
        finally:
            transport.close()
            peer.close()

    received: list[bytes] = []

    async def main() -> None:
        received.append(await first_bytes_out())

    run_on_loop(main(), EventLoopSettings(event_loop="uvloop"))

    assert received == [H2_PREFACE]
