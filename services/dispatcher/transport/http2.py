"""An HTTP/2 client on the h2 library for providers' send APIs: one TLS connection per origin,
requests multiplexed up to the server's stream limit, flow control honoured both ways, and a
lost connection reported as ConnectionFailed so the push is retried. A request the server never
processed (RFC 9113 8.7: above a GOAWAY's last stream id, refused with REFUSED_STREAM, or meeting a
connection already closing) goes again at once on a usable connection, a new one after a GOAWAY,
and is not reported at all: it does not count as an attempt.

Headers are normalised here (names lower-cased, values stripped), so h2 does not do it again, and
h2 does not validate them either: every header value is made by a payload renderer from
contract-checked fields (printable ASCII, fixed vocabularies), and h2's per-header checks were a
sixth of this client's CPU. Normalising here also keeps h2 from sending ``authorization``
never-indexed, which Huffman-codes the long provider token (VAPID JWT, OAuth token) on every
request: indexed, it goes once per connection (~60 µs of CPU less per request with Web Push
headers, tests/benchmarks/http_clients). The token is the
deployment's own credential for that provider: probing it through compression would take both
header values of one's choosing on this connection and sight of its encrypted traffic.

httpx's HTTP/2 path measured ~690 µs of client CPU per request here, this ~135 µs
(tests/benchmarks/http_clients); aioapns works the same way for APNs. Origins that do not offer h2
by ALPN, and plain http, go to the fallback sender.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import urllib.parse
from collections.abc import Mapping
from functools import partial

import h2.config
import h2.errors
import h2.events
import h2.exceptions

from services.dispatcher.transport.base import ConnectionFailed, NotProcessed, Response, Sender
from services.dispatcher.transport.h2_state import CompactH2Connection
from shared.http2_io import H2Writer

#: Times one request may meet a server that refuses it unprocessed before that counts as a failure
#: (a server that refuses everything must not keep a push spinning here).
UNPROCESSED_RESENDS = 3


@functools.lru_cache(maxsize=256)
def _target(url: str) -> tuple[str, str, int, str]:
    """A URL's scheme, host, port and request path. FCM takes every push at one URL: urllib
    caches the split, not the host and port it then parses out of the netloc on each call."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return parts.scheme, parts.hostname or "", parts.port or 443, path


class _Stream:
    """One request in flight: its reply as it arrives."""

    __slots__ = ("body", "done", "headers")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.done: asyncio.Future[Response] = loop.create_future()
        self.headers: dict[str, str] = {}
        self.body = bytearray()

    def fail(self, reason: str, *, processed: bool = True) -> None:
        """No reply will come; ``processed`` False when the server said it did nothing with it."""
        if not self.done.done():
            error = ConnectionFailed(reason) if processed else NotProcessed(reason)
            self.done.set_exception(error)


class _Connection(asyncio.Protocol):
    """One HTTP/2 connection; ``usable`` turns False for good after a GOAWAY or a loss."""

    def __init__(self, authority: str) -> None:
        config = h2.config.H2Configuration(
            client_side=True,
            header_encoding="utf-8",
            normalize_outbound_headers=False,
            validate_outbound_headers=False,
            validate_inbound_headers=False,
        )
        self.h2 = CompactH2Connection(config)
        self.authority = authority
        self.streams: dict[int, _Stream] = {}
        self.usable = True
        self.protocol: str | None = None
        self._changed = asyncio.Event()
        self.out = H2Writer(self.h2)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.out.attach(transport)
        tls = transport.get_extra_info("ssl_object")
        self.protocol = tls.selected_alpn_protocol() if tls is not None else None
        self.h2.initiate_connection()
        self.out.now()

    def data_received(self, data: bytes) -> None:
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            self._lose(f"HTTP/2 protocol error: {exc}")
            return
        for event in events:
            self._on(event)
        self.out.now()
        self._changed.set()

    def _on(self, event: h2.events.Event) -> None:
        stream = self.streams.get(getattr(event, "stream_id", None) or 0)
        if isinstance(event, h2.events.ResponseReceived) and stream is not None:
            stream.headers = {str(k): str(v) for k, v in event.headers or ()}
        elif isinstance(event, h2.events.DataReceived) and event.stream_id is not None:
            self.h2.acknowledge_received_data(event.flow_controlled_length or 0, event.stream_id)
            if stream is not None:
                stream.body.extend(event.data or b"")
        elif isinstance(event, h2.events.StreamEnded) and stream is not None:
            del self.streams[event.stream_id or 0]
            status = int(stream.headers.pop(":status", "0"))
            if not stream.done.done():
                stream.done.set_result(Response(status, stream.headers, bytes(stream.body)))
            self._close_if_drained()
        elif isinstance(event, h2.events.StreamReset) and stream is not None:
            del self.streams[event.stream_id or 0]
            refused = event.error_code == h2.errors.ErrorCodes.REFUSED_STREAM
            stream.fail(
                f"the server reset the stream ({event.error_code!r})", processed=not refused
            )
            self._close_if_drained()
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.usable = False
            last = event.last_stream_id or 0
            for stream_id in [s for s in self.streams if s > last]:
                self.streams.pop(stream_id).fail(
                    "the server sent GOAWAY before this request", processed=False
                )
            self._close_if_drained()

    def _close_if_drained(self) -> None:
        """After a GOAWAY, close once the streams it kept are over."""
        if not self.usable and not self.streams:
            self.out.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._lose(f"connection lost: {exc}" if exc else "the server closed the connection")

    def _lose(self, reason: str) -> None:
        self.usable = False
        for stream in self.streams.values():
            stream.fail(reason)
        self.streams.clear()
        self._changed.set()
        self.out.close()

    async def _wait(self) -> None:
        """Until the server sends something (window updates, settings, replies) or leaves."""
        self._changed.clear()
        await self._changed.wait()

    async def request(self, path: str, headers: Mapping[str, str], body: bytes) -> Response:
        """POST ``body`` to ``path``; raises ConnectionFailed when no reply can come."""
        while self.usable and len(self.streams) >= self.h2.remote_settings.max_concurrent_streams:
            await self._wait()
        if not self.usable:
            raise NotProcessed("the connection is closing")
        stream_id: int | None = None
        try:
            try:
                stream_id = self.h2.get_next_available_stream_id()
                stream = _Stream(asyncio.get_running_loop())
                self.streams[stream_id] = stream
                request_headers = [
                    (":method", "POST"),
                    (":scheme", "https"),
                    (":authority", self.authority),
                    (":path", path),
                    *((name.lower(), value.strip()) for name, value in headers.items()),
                    ("content-length", str(len(body))),
                ]
                self.h2.send_headers(stream_id, request_headers, end_stream=not body)
                self.out.soon()
                await self.out.send_body(
                    stream_id,
                    body,
                    end_stream=True,
                    sending=lambda: stream_id in self.streams and not stream.done.done(),
                    window_opened=self._wait,
                )
            except h2.exceptions.ProtocolError as exc:
                self._lose(f"HTTP/2 protocol error: {exc}")
                raise ConnectionFailed(f"HTTP/2 protocol error: {exc}") from None
            return await stream.done
        except asyncio.CancelledError:
            if stream_id is not None:
                self._cancel(stream_id)
            raise

    def _cancel(self, stream_id: int) -> None:
        """The caller gave up (timeout, even while its body waited for window): tell the server,
        free the stream slot, and close a draining connection this was the last stream of."""
        if self.streams.pop(stream_id, None) is not None and self.out.open:
            try:
                self.h2.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
                self.out.now()
            except h2.exceptions.ProtocolError:
                self._lose("HTTP/2 state lost while cancelling a request")
        self._changed.set()
        self._close_if_drained()

    def close(self) -> None:
        self.usable = False
        self.out.close()


class H2Client:
    """POSTs over HTTP/2, one connection per origin; other origins through ``fallback``."""

    def __init__(self, tls: ssl.SSLContext, *, connect_timeout: float, fallback: Sender) -> None:
        tls.set_alpn_protocols(["h2", "http/1.1"])
        self._tls = tls
        self._connect_timeout = connect_timeout
        self._fallback = fallback
        self._connections: dict[tuple[str, int], _Connection] = {}
        #: Connections replaced after a GOAWAY, still answering the streams it kept.
        self._draining: set[_Connection] = set()
        self._not_h2: set[tuple[str, int]] = set()
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> Response:
        scheme, host, port, path = _target(url)
        for _ in range(UNPROCESSED_RESENDS):
            if scheme != "https" or (host, port) in self._not_h2:
                return await self._fallback.post(url, headers, body)
            connection = await self._connection(host, port)
            if connection is None:
                return await self._fallback.post(url, headers, body)
            try:
                return await connection.request(path, headers, body)
            except NotProcessed as refused:
                unprocessed = refused
        raise ConnectionFailed(f"refused {UNPROCESSED_RESENDS} times unprocessed: {unprocessed}")

    async def _connection(self, host: str, port: int) -> _Connection | None:
        """The origin's open connection, opened now if needed; None if it does not speak h2."""
        key = (host, port)
        current = self._connections.get(key)
        if current is not None and current.usable:
            return current
        async with self._locks.setdefault(key, asyncio.Lock()):
            current = self._connections.get(key)
            if current is not None and current.usable:
                return current
            authority = host if port == 443 else f"{host}:{port}"
            loop = asyncio.get_running_loop()
            try:
                async with asyncio.timeout(self._connect_timeout):
                    _, connection = await loop.create_connection(
                        partial(_Connection, authority), host, port, ssl=self._tls
                    )
            except (OSError, TimeoutError) as exc:
                raise ConnectionFailed(f"cannot connect to {authority}: {exc}") from None
            if connection.protocol != "h2":
                connection.close()
                self._not_h2.add(key)
                return None
            if current is not None:
                self._draining.add(current)
            self._draining = {c for c in self._draining if c.out.open}
            self._connections[key] = connection
            return connection

    async def aclose(self) -> None:
        for connection in [*self._connections.values(), *self._draining]:
            connection.close()
        self._connections.clear()
        self._draining.clear()
        await self._fallback.aclose()
