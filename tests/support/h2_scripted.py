"""An HTTP/2 server over TLS that follows a script, for the replies no emulator plays on demand:
a GOAWAY while requests are in flight, streams refused with REFUSED_STREAM.

Each request gets 200 with its ``apns-id`` echoed (so APNs clients match it) unless the script
says otherwise; the server counts what each connection processed. A graceful GOAWAY (RFC 9113 6.8)
names every stream received and then answers the held ones, as providers' front ends drain.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

import h2.config
import h2.connection
import h2.errors
import h2.events
from hyperframe.frame import GoAwayFrame

from services.emulators.tls import LocalCa, create_ca
from shared.embedded.ports import free_port

Action = Literal["answer", "refuse", "hold"]
#: What to do with a request: (connection number from 1, requests seen on it so far) -> action.
Script = Callable[[int, int], Action]
#: How long after a graceful GOAWAY the held requests are answered.
DRAIN_SECONDS = 0.2


@dataclass
class Served:
    """What the server did: requests answered per connection, refused, and GOAWAYs sent."""

    answered: dict[int, int] = field(default_factory=dict)
    refused: int = 0
    goaways: int = 0


class _Protocol(asyncio.Protocol):
    def __init__(
        self, number: int, script: Script, served: Served, goaway_after: int, graceful: bool
    ) -> None:
        self.number = number
        self.graceful = graceful
        self.script = script
        self.served = served
        self.goaway_after = goaway_after
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        self.transport: asyncio.Transport | None = None
        self.seen = 0
        self.held: list[int] = []
        self.ids: dict[int, bytes] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's is not an instance
        self.h2.initiate_connection()
        self._flush()

    def data_received(self, data: bytes) -> None:
        for event in self.h2.receive_data(data):
            if isinstance(event, h2.events.RequestReceived) and event.stream_id:
                headers = dict(event.headers or ())
                self.ids[event.stream_id] = headers.get(b"apns-id", b"")
            elif isinstance(event, h2.events.DataReceived) and event.stream_id:
                self.h2.acknowledge_received_data(
                    event.flow_controlled_length or 0, event.stream_id
                )
            elif isinstance(event, h2.events.StreamEnded) and event.stream_id:
                self._request(event.stream_id)
        self._flush()

    def _request(self, stream_id: int) -> None:
        self.seen += 1
        action = self.script(self.number, self.seen)
        if action == "refuse":
            self.served.refused += 1
            self.h2.reset_stream(stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
        elif action == "hold":
            self.held.append(stream_id)
        else:
            self._answer(stream_id)
        if self.goaway_after and self.seen == self.goaway_after and self.graceful:
            self._drain()
        elif self.goaway_after and self.seen == self.goaway_after:
            processed = [s for s in self.ids if s not in self.held]
            self.h2.close_connection(last_stream_id=max(processed, default=0))
            self.served.goaways += 1

    def _drain(self) -> None:
        """GOAWAY naming the newest stream, written past h2 (which cannot answer after its own),
        then the held requests answered a moment later, in writes of their own."""
        frame = GoAwayFrame(0)
        frame.last_stream_id = self.h2.highest_inbound_stream_id
        frame.error_code = h2.errors.ErrorCodes.NO_ERROR
        self._flush()
        if self.transport is not None:
            self.transport.write(frame.serialize())
        self.served.goaways += 1
        asyncio.get_running_loop().call_later(DRAIN_SECONDS, self._answer_held)

    def _answer_held(self) -> None:
        for stream_id in self.held:
            self._answer(stream_id)
        self.held.clear()
        self._flush()

    def _answer(self, stream_id: int) -> None:
        headers = [(":status", "200"), ("apns-id", self.ids.get(stream_id, b"").decode())]
        self.h2.send_headers(stream_id, headers, end_stream=True)
        self.served.answered[self.number] = self.served.answered.get(self.number, 0) + 1

    def _flush(self) -> None:
        if self.transport is not None:
            self.transport.write(self.h2.data_to_send())


@asynccontextmanager
async def scripted_server(
    folder: Path,
    script: Script,
    *,
    goaway_after: Callable[[int], int] = lambda number: 0,
    graceful: bool = False,
) -> AsyncIterator[tuple[int, LocalCa, Served]]:
    """Serve ``script`` on a free loopback port; ``goaway_after(connection)`` requests in, that
    connection says GOAWAY naming the last request it answered (0: never), or, ``graceful``, the
    last it received before answering the held ones."""
    ca = create_ca(folder)
    files = ca.issue_server(folder)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(files.cert, files.key)
    tls.set_alpn_protocols(["h2"])
    served = Served()
    numbers = iter(range(1, 1_000))

    def protocol() -> _Protocol:
        number = next(numbers)
        return _Protocol(number, script, served, goaway_after(number), graceful)

    port = free_port()
    server = await asyncio.get_running_loop().create_server(protocol, "127.0.0.1", port, ssl=tls)
    try:
        yield port, ca, served
    finally:
        server.close()
