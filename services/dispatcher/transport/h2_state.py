"""h2's connection state, cheaper for a stream of pushes: what h2 spends per request on work no
provider connection needs, taken out without changing what a request means or what h2 allows.

- h2 counts open streams by walking every stream it holds, each time a stream opens; with the
  dispatcher's 64-256 requests in flight that walk was ~2% of its CPU (py-spy). Here the streams
  each call touched are looked at after it, so the count is known, and the closed ones are
  dropped at the moment h2's walk would drop them.
- h2 formats every frame it receives (``repr``) for a trace log line that its default logger
  throws away (~1 us a frame). Frames received here print as their type's name alone.
- Header values that differ on every request stay out of the HPACK table, and none is
  Huffman-coded (see ``CompactH2Connection``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import h2.config
import h2.connection
import h2.errors
import h2.events
import hpack
from hpack.struct import HeaderWeaklyTyped
from hyperframe.frame import FRAMES, ExtensionFrame, Frame, GoAwayFrame, PushPromiseFrame

#: The h2 release whose internals (``_open_streams``, ``_receive_frame``, the frame dispatch table,
#: ``_closed_streams``) this module was checked against; pyproject.toml pins it, and a unit test
#: fails on another, so a new h2 is read here before it is taken.
CHECKED_H2 = "4.4.1"

#: Header values that differ on every request (the device in the path, APNs' id and expiry, the
#: body's length): entering them in the HPACK table only evicts the ones that repeat
#: (authorization, topic) and makes every lookup in it longer.
ONE_OFF_HEADERS = frozenset({":path", "apns-id", "apns-expiration", "content-length"})


def _type_name(frame: Frame) -> str:
    return type(frame).__name__


#: Each frame type h2 dispatches on, as a subclass whose repr is its name: h2's handlers take it as
#: the type it extends.
_UNPRINTED: dict[type[Frame], type[Frame]] = {
    frame_type: type(frame_type.__name__, (frame_type,), {"__repr__": _type_name})
    for frame_type in (*FRAMES.values(), ExtensionFrame)
}


class _LiteralEncoder(hpack.Encoder):
    """HPACK without Huffman coding: on a provider connection the few bytes it saves on one-off
    values cost more CPU (a pure-Python bit coder, per character) than sending them."""

    def encode(self, headers: Any, huffman: bool = False) -> bytes:
        return super().encode(headers, huffman=False)


class CompactH2Connection(h2.connection.H2Connection):
    """A client's h2 connection state with a kept count of open streams and received frames that
    are not formatted (a client pushes no streams, the one call the count does not follow).

    It remembers fewer closed streams: h2 keeps 65,536 per connection (~15 MB once a connection
    has carried that many pushes); a few thousand still recognise any frame that arrives late for a
    stream just closed. Header values are sent as plain literals, and the one-off ones are kept
    out of the HPACK table.
    """

    MAX_CLOSED_STREAMS = 4096

    def __init__(self, config: h2.config.H2Configuration | None = None) -> None:
        super().__init__(config)
        if not self.config.client_side:
            raise ValueError("CompactH2Connection is a client's connection state")
        self.encoder = _LiteralEncoder()
        #: Ids of the streams open in RFC 9113's sense (5.1.2: they count against the limit), by
        #: parity: ``[stream_id % 2]``, odd ones opened by the client.
        self._open_ids: tuple[set[int], set[int]] = (set(), set())
        #: Streams closed since h2 last counted, still in ``streams``.
        self._closed_ids: set[int] = set()
        dispatch = self._frame_dispatch_table
        dispatch.update({_UNPRINTED[t]: handler for t, handler in list(dispatch.items())})

    def _note(self, stream_id: int | None) -> None:
        """Count ``stream_id`` as open or not from its state now (after a call that may move it)."""
        if not stream_id:
            return
        stream = self.streams.get(stream_id)
        if stream is not None and stream.open:
            self._open_ids[stream_id % 2].add(stream_id)
            return
        self._open_ids[stream_id % 2].discard(stream_id)
        if stream is not None and stream.closed:
            self._closed_ids.add(stream_id)

    def _open_streams(self, remainder: int) -> int:
        """h2's count of open streams with ``stream_id % 2 == remainder``, without its walk; the
        streams closed since are moved to ``_closed_streams`` first, as the walk does."""
        for stream_id in sorted(self._closed_ids):
            stream = self.streams.get(stream_id)
            if stream is not None and stream.closed:
                del self.streams[stream_id]
                self._closed_streams[stream_id] = stream.closed_by
        self._closed_ids.clear()
        return len(self._open_ids[remainder])

    def _receive_frame(self, frame: Frame) -> list[h2.events.Event]:
        """A received frame moves only the stream it names (and the one a PUSH_PROMISE
        reserves); it is handed to h2 as the unprinted subclass of its type."""
        frame.__class__ = _UNPRINTED.get(type(frame), type(frame))
        try:
            return super()._receive_frame(frame)
        finally:
            self._note(frame.stream_id)
            if isinstance(frame, PushPromiseFrame):
                self._note(frame.promised_stream_id)

    def _receive_goaway_frame(
        self, frame: GoAwayFrame
    ) -> tuple[list[Frame], list[h2.events.Event]]:
        """Keep receiving after a GOAWAY. Streams up to its last stream id may still be answered
        (RFC 9113 6.8: a server drains that way), but h2 closes its connection state on GOAWAY
        (python-hyper/h2#1181), so their replies would raise ProtocolError and requests the
        server processed would fail and go again: a duplicate push. The state stays open, with
        the bytes not yet written (h2 drops them); _Connection opens no stream after a GOAWAY."""
        state, unsent = self.state_machine.state, bytes(self._data_to_send)
        frames, events = super()._receive_goaway_frame(frame)
        if state is not h2.connection.ConnectionState.CLOSED:
            self.state_machine.state = state
            self._data_to_send[:0] = unsent
        return frames, events

    def send_headers(
        self,
        stream_id: int,
        headers: Iterable[HeaderWeaklyTyped],
        end_stream: bool = False,
        priority_weight: int | None = None,
        priority_depends_on: int | None = None,
        priority_exclusive: bool | None = None,
    ) -> None:
        marked = [
            hpack.NeverIndexedHeaderTuple(name, value) if name in ONE_OFF_HEADERS else (name, value)
            for name, value in headers
        ]
        try:
            super().send_headers(
                stream_id,
                marked,
                end_stream,
                priority_weight,
                priority_depends_on,
                priority_exclusive,
            )
        finally:
            self._note(stream_id)

    def send_data(
        self,
        stream_id: int,
        data: bytes | memoryview,
        end_stream: bool = False,
        pad_length: Any = None,
    ) -> None:
        try:
            super().send_data(stream_id, data, end_stream, pad_length)
        finally:
            self._note(stream_id)

    def end_stream(self, stream_id: int) -> None:
        try:
            super().end_stream(stream_id)
        finally:
            self._note(stream_id)

    def reset_stream(self, stream_id: int, error_code: h2.errors.ErrorCodes | int = 0) -> None:
        try:
            super().reset_stream(stream_id, error_code)
        finally:
            self._note(stream_id)

    def initiate_upgrade_connection(self, settings_header: bytes | None = None) -> bytes | None:
        try:
            return super().initiate_upgrade_connection(settings_header)
        finally:
            self._note(1)
