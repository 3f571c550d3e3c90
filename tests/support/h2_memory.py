"""An h2 server driven by hand in memory, for unit tests of client-side flow control: it keeps
what each request sent and credits the bytes it read only when the test says so."""

from __future__ import annotations

import asyncio
import json

import h2.config
import h2.connection
import h2.events
import h2.settings

DEFAULT_WINDOW = 65_535


class MemoryH2Server:
    """The server side of one connection; feed it the client's bytes with ``read``."""

    def __init__(self, stream_window: int = DEFAULT_WINDOW, max_streams: int | None = None) -> None:
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        self.h2.initiate_connection()
        settings: dict[h2.settings.SettingCodes | int, int] = {}
        if stream_window != DEFAULT_WINDOW:
            settings[h2.settings.SettingCodes.INITIAL_WINDOW_SIZE] = stream_window
        if max_streams is not None:
            settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS] = max_streams
        if settings:
            self.h2.update_settings(settings)
        self.headers: dict[int, dict[bytes, bytes]] = {}
        self.bodies: dict[int, bytearray] = {}
        self.ended: list[int] = []
        self.reset: dict[int, int] = {}
        self.dropped: dict[int, int] = {}
        self.largest_frame = 0
        self._uncredited: list[tuple[int, int]] = []

    def read(self, data: bytes) -> None:
        for event in self.h2.receive_data(data):
            stream_id = getattr(event, "stream_id", None) or 0
            if isinstance(event, h2.events.RequestReceived):
                self.headers[stream_id] = {bytes(k): bytes(v) for k, v in event.headers or ()}
            elif isinstance(event, h2.events.DataReceived):
                chunk = event.data or b""
                self.bodies.setdefault(stream_id, bytearray()).extend(chunk)
                self.largest_frame = max(self.largest_frame, len(chunk))
                self._uncredited.append((event.flow_controlled_length or 0, stream_id))
            elif isinstance(event, h2.events.StreamEnded):
                self.ended.append(stream_id)
            elif isinstance(event, h2.events.StreamReset):
                self.reset[stream_id] = event.error_code or 0

    def credit(self) -> None:
        """Give back the window of everything read so far (h2 sends WINDOW_UPDATE by its rule:
        once half a window is read)."""
        for size, stream_id in self._uncredited:
            self.h2.acknowledge_received_data(size, stream_id)
        self._uncredited.clear()

    def answer(self, stream_id: int, status: int = 200, reason: str | None = None) -> None:
        """A reply echoing the request's apns-id, as APNs sends it; with a ``reason``, an error
        body carries it."""
        apns_id = self.headers[stream_id].get(b"apns-id", b"")
        reply = [(b":status", str(status).encode()), (b"apns-id", apns_id)]
        self.h2.send_headers(stream_id, reply, end_stream=reason is None)
        if reason is not None:
            self.h2.send_data(stream_id, json.dumps({"reason": reason}).encode(), end_stream=True)

    def drop(self, stream_id: int, error_code: int) -> None:
        """Reset a request's stream (RST_STREAM with ``error_code``) instead of answering it."""
        self.h2.reset_stream(stream_id, error_code)
        self.dropped[stream_id] = error_code

    @property
    def received(self) -> int:
        """Body bytes read so far, over all streams."""
        return sum(len(body) for body in self.bodies.values())


class Wire(asyncio.Transport):
    """A transport that keeps what a protocol writes until the test takes it."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.extend(data)

    def take(self) -> bytes:
        data = bytes(self.written)
        self.written.clear()
        return data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return False
