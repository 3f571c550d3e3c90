"""A small HTTP/2-over-TLS server for an emulator's provider port, running its ASGI app.

Providers' send APIs are HTTP/2 (APNs accepts nothing else). Hypercorn served them before and cost
the benchmark machine as much CPU per push as the dispatcher it answered (a task, a priority tree
and an event queue per stream). This server does only what a provider port needs: one request
body in, one response out, flow control both ways, and resets. Plain-HTTP inspection routes stay
on Hypercorn.

Its flow-control windows are settings (``FlowWindows``); by default it advertises HTTP/2's own
65,535-byte stream window and keeps the connection window at 65,535 bytes, returning credit as
bodies arrive, in steps of half a window (h2's rule). Apple documents no window for APNs, and
APNs was seen doing just that (SETTINGS INITIAL_WINDOW_SIZE=65535, connection credit in ~32 KB
WINDOW_UPDATEs: frame logs in Pushy's issues 356 and 476), so clients tested here meet its window.

It also plays the two faults a provider's front end shows at the connection level: a graceful
GOAWAY (``goaway()``), and an outage in which the port refuses connections (``outage()``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
from hyperframe.frame import GoAwayFrame
from starlette.types import ASGIApp, Message

from shared.http2_io import H2Writer

log = logging.getLogger(__name__)

MAX_CONCURRENT_STREAMS = 1000
MAX_REQUEST_BYTES = 1024 * 1024
#: The scope extension naming the connection a request came on (a number never reused while the
#: server runs): providers judge some things per connection (APNs: provider token updates).
CONNECTION_EXTENSION = "herald.connection"
#: RFC 9113 6.9.2: the window every stream and the connection start with unless told otherwise.
DEFAULT_WINDOW = 65_535
LARGEST_WINDOW = 2**31 - 1


@dataclass(frozen=True)
class FlowWindows:
    """How much request body a client may have sent and not yet been credited for.

    ``stream`` is advertised as SETTINGS_INITIAL_WINDOW_SIZE; ``connection`` is where the
    connection window is raised to at once (it always starts at 65,535 and cannot start lower).
    """

    stream: int = DEFAULT_WINDOW
    connection: int = DEFAULT_WINDOW

    def __post_init__(self) -> None:
        if not 1 <= self.stream <= LARGEST_WINDOW:
            raise ValueError(f"a stream window is 1 to {LARGEST_WINDOW} bytes, not {self.stream}")
        if not DEFAULT_WINDOW <= self.connection <= LARGEST_WINDOW:
            raise ValueError(
                f"a connection window is {DEFAULT_WINDOW} to {LARGEST_WINDOW} bytes, "
                f"not {self.connection}"
            )


class _Stream:
    """One request: its headers and body as they arrive, then the app's answer."""

    __slots__ = ("body", "closed", "headers", "task")

    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.headers = headers
        self.body = bytearray()
        self.closed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None


class _Connection(asyncio.Protocol):
    """One client connection; each finished request runs the app in its own task."""

    def __init__(
        self,
        app: ASGIApp,
        tasks: set[asyncio.Task[None]],
        on_lost: Callable[[_Connection], None],
        number: int,
        windows: FlowWindows,
    ) -> None:
        self.app = app
        self.number = number
        self.windows = windows
        self.tasks = tasks
        self.on_lost = on_lost
        self.h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding=None)
        )
        self.streams: dict[int, _Stream] = {}
        self.client: tuple[str, int] | None = None
        self.server: tuple[str, int] | None = None
        self.window_opened = asyncio.Event()
        self.out = H2Writer(self.h2)
        #: Set by ``goaway()``: the last stream this connection answers; newer ones are refused.
        self.last_stream: int | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.out.attach(transport)
        self.client = transport.get_extra_info("peername")
        self.server = transport.get_extra_info("sockname")
        self.h2.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: MAX_CONCURRENT_STREAMS,
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: self.windows.stream,
            },
        )
        self.h2.initiate_connection()
        if self.windows.connection > DEFAULT_WINDOW:
            self.h2.increment_flow_control_window(self.windows.connection - DEFAULT_WINDOW)
        self.out.now()

    def data_received(self, data: bytes) -> None:
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            log.info("closing a connection after a protocol error: %s", exc)
            self.out.now()
            self.out.close()
            return
        for event in events:
            self._on(event)
        self.out.now()

    def _on(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived) and event.stream_id is not None:
            if self.last_stream is not None and event.stream_id > self.last_stream:
                self._reset(event.stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
                return
            self.streams[event.stream_id] = _Stream(list(event.headers or ()))
        elif isinstance(event, h2.events.DataReceived) and event.stream_id is not None:
            self.h2.acknowledge_received_data(event.flow_controlled_length or 0, event.stream_id)
            stream = self.streams.get(event.stream_id)
            if stream is not None:
                stream.body.extend(event.data or b"")
                if len(stream.body) > MAX_REQUEST_BYTES:
                    self._reset(event.stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
        elif isinstance(event, h2.events.StreamEnded) and event.stream_id is not None:
            stream = self.streams.get(event.stream_id)
            if stream is not None and stream.task is None:
                stream.task = asyncio.get_running_loop().create_task(
                    self._answer(event.stream_id, stream)
                )
                self.tasks.add(stream.task)
                stream.task.add_done_callback(self.tasks.discard)
        elif isinstance(event, h2.events.StreamReset) and event.stream_id is not None:
            self._forget(event.stream_id)
        elif isinstance(event, h2.events.WindowUpdated | h2.events.RemoteSettingsChanged):
            self.window_opened.set()
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.out.close()

    def _reset(self, stream_id: int, code: h2.errors.ErrorCodes) -> None:
        with contextlib.suppress(h2.exceptions.ProtocolError):
            self.h2.reset_stream(stream_id, code)
        self._forget(stream_id)

    def _forget(self, stream_id: int) -> None:
        stream = self.streams.pop(stream_id, None)
        if stream is not None:
            stream.closed.set()
            if stream.task is not None and not stream.task.done():
                stream.task.cancel()
        self._close_if_drained()

    def connection_lost(self, exc: Exception | None) -> None:
        for stream_id in list(self.streams):
            self._forget(stream_id)
        self.window_opened.set()
        self.on_lost(self)

    def close(self) -> None:
        """Say goodbye (GOAWAY) and close; requests in flight are cancelled."""
        if self.out.open:
            self.h2.close_connection()
            self.out.now()
            self.out.close()

    def goaway(self) -> None:
        """A graceful shutdown (RFC 9113 6.8), as providers' front ends do when they drain.

        GOAWAY names the newest stream received: requests up to it are answered, newer ones (sent
        before the client saw the GOAWAY) are refused with REFUSED_STREAM, unprocessed, and the
        connection closes once the answered ones are done. h2 cannot answer after its own GOAWAY,
        so the frame is written here and h2 keeps serving the streams in flight.
        """
        if self.last_stream is not None or not self.out.open or self.out.transport is None:
            return
        self.last_stream = self.h2.highest_inbound_stream_id
        frame = GoAwayFrame(0)
        frame.last_stream_id = self.last_stream
        frame.error_code = h2.errors.ErrorCodes.NO_ERROR
        self.out.now()
        self.out.transport.write(frame.serialize())
        self._close_if_drained()

    def _close_if_drained(self) -> None:
        if self.last_stream is not None and not self.streams and self.out.open:
            self.h2.close_connection(last_stream_id=self.last_stream)
            self.out.now()
            self.out.close()

    def drop(self) -> None:
        """Gone without a goodbye, as in an outage: the TCP connection is reset."""
        if self.out.transport is not None:
            self.out.transport.abort()

    def _scope(self, stream: _Stream) -> dict[str, Any]:
        pseudo = {name: value for name, value in stream.headers if name.startswith(b":")}
        path, _, query = pseudo.get(b":path", b"/").partition(b"?")
        headers = [(name, value) for name, value in stream.headers if not name.startswith(b":")]
        if b":authority" in pseudo:
            headers.append((b"host", pseudo[b":authority"]))
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "2",
            "method": pseudo.get(b":method", b"GET").decode(),
            "scheme": "https",
            "path": path.decode("utf-8", errors="replace"),
            "raw_path": path,
            "query_string": query,
            "root_path": "",
            "headers": headers,
            "client": self.client,
            "server": self.server,
            "extensions": {CONNECTION_EXTENSION: self.number},
        }

    async def _answer(self, stream_id: int, stream: _Stream) -> None:
        """Run the app for one request and send what it answers."""
        delivered = False

        async def receive() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": bytes(stream.body), "more_body": False}
            await stream.closed.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if stream_id not in self.streams:
                return
            if message["type"] == "http.response.start":
                headers = [(b":status", str(message["status"]).encode())]
                headers += [(bytes(k).lower(), bytes(v)) for k, v in message.get("headers", ())]
                self.h2.send_headers(stream_id, headers)
            elif message["type"] == "http.response.body":
                await self.out.send_body(
                    stream_id,
                    message.get("body", b""),
                    end_stream=False,
                    sending=lambda: stream_id in self.streams,
                    window_opened=self._window_opened,
                )
                if not message.get("more_body", False) and stream_id in self.streams:
                    self.h2.end_stream(stream_id)
                    self.streams.pop(stream_id).closed.set()
                    self._close_if_drained()
            self.out.soon()

        try:
            await self.app(self._scope(stream), receive, send)
        except Exception:
            log.exception("the app failed on stream %d", stream_id)
            if stream_id in self.streams:
                self._reset(stream_id, h2.errors.ErrorCodes.INTERNAL_ERROR)
                self.out.now()

    async def _window_opened(self) -> None:
        self.window_opened.clear()
        await self.window_opened.wait()


class H2Server:
    """Serves an ASGI app over HTTP/2 with TLS on one address until closed."""

    def __init__(
        self, app: ASGIApp, tls: ssl.SSLContext, windows: FlowWindows | None = None
    ) -> None:
        tls.set_alpn_protocols(["h2"])
        self.app = app
        self.tls = tls
        self.windows = windows or FlowWindows()
        self.tasks: set[asyncio.Task[None]] = set()
        self.connections: set[_Connection] = set()
        self._server: asyncio.Server | None = None
        self._numbers = itertools.count(1)
        self._address: tuple[str, int] | None = None
        self._outage: asyncio.Task[None] | None = None

    def _connection(self) -> _Connection:
        connection = _Connection(
            self.app, self.tasks, self.connections.discard, next(self._numbers), self.windows
        )
        self.connections.add(connection)
        return connection

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._address = (host, port)
        self._server = await loop.create_server(self._connection, host, port, ssl=self.tls)

    def goaway(self) -> int:
        """A graceful GOAWAY on every open connection; how many there were."""
        connections = list(self.connections)
        for connection in connections:
            connection.goaway()
        return len(connections)

    async def outage(self, seconds: float) -> None:
        """Unreachable for ``seconds`` from now: the port stops listening, so connecting is
        refused, and open connections are reset; a second outage replaces the first."""
        if self._outage is not None:
            self._outage.cancel()
        if self._server is not None:
            self._server.close()
            self._server = None
        for connection in list(self.connections):
            connection.drop()
        self._outage = asyncio.get_running_loop().create_task(self._listen_after(seconds))

    async def _listen_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if self._address is not None:
            await self.start(*self._address)
        self._outage = None

    async def close(self) -> None:
        if self._outage is not None:
            self._outage.cancel()
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            connection.close()
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
