"""An h2 connection whose ``send_data`` never refuses a body for want of flow-control window.

aioapns (4.0) sends a request's headers and body in one synchronous call and lets h2 raise
FlowControlError when the body does not fit the peer's windows; its pool then fails the request
after a second's sleep. APNs advertises HTTP/2's default 65,535-byte windows, so in a burst of
~4 KB pushes on one connection the seventeenth request failed. Here a body that does not fit
waits in this connection, behind any body already waiting, and leaves in frames as WINDOW_UPDATE
and SETTINGS frames open the windows: the request waits for its reply as before, under the same
timeout. What waits is bounded by the streams open on the connection (the server's stream limit).
A request whose sender stops waiting (its timeout) is withdrawn while its body still waits: the
server never received it whole, so it cannot have acted on it, and the retry is the only copy.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import h2.config
import h2.errors
import h2.events
import h2.exceptions

from services.dispatcher.transport.h2_state import CompactH2Connection

if TYPE_CHECKING:
    from typing_extensions import Buffer


class _Unsent:
    """The rest of one stream's body, and whether its last frame ends the stream."""

    __slots__ = ("data", "end_stream")

    def __init__(self, data: memoryview, end_stream: bool) -> None:
        self.data = data
        self.end_stream = end_stream


class WindowedH2Connection(CompactH2Connection):
    """Herald's compact h2 state; bodies wait for window in arrival order instead of raising."""

    def __init__(self, config: h2.config.H2Configuration | None = None) -> None:
        super().__init__(config)
        self._unsent: dict[int, _Unsent] = {}

    def send_data(
        self,
        stream_id: int,
        data: bytes | memoryview,
        end_stream: bool = False,
        pad_length: Any = None,
    ) -> None:
        """Send ``data`` now if the windows allow and nothing waits before it; else queue it.
        Padded data is h2's own business (nothing here pads)."""
        if pad_length is not None:
            super().send_data(stream_id, data, end_stream, pad_length)
            return
        if not self._unsent:
            try:
                super().send_data(stream_id, data, end_stream)
                return
            except (h2.exceptions.FlowControlError, h2.exceptions.FrameTooLargeError):
                pass
        waiting = self._unsent.get(stream_id)
        if waiting is None:
            self._unsent[stream_id] = _Unsent(memoryview(data), end_stream)
        else:
            waiting.data = memoryview(bytes(waiting.data) + bytes(data))
            waiting.end_stream = end_stream
        self._send_unsent()

    def receive_data(self, data: Buffer) -> list[h2.events.Event]:
        """Frames from the peer; credit they open goes to the waiting bodies at once, unless the
        peer is leaving (GOAWAY): then they stay for ``take_unsent``. A reset stream's body is
        dropped."""
        events = super().receive_data(data)
        for event in events:
            if isinstance(event, h2.events.StreamReset):
                self._unsent.pop(event.stream_id, None)
        if self._unsent and not any(isinstance(e, h2.events.ConnectionTerminated) for e in events):
            self._send_unsent()
        return events

    def take_unsent(self) -> list[int]:
        """Streams whose body has not all left, forgotten here: the server cannot have acted on
        a request it never received whole."""
        streams = list(self._unsent)
        self._unsent.clear()
        return streams

    def withdraw(self, stream_id: int) -> bool:
        """Cancel ``stream_id`` (RST_STREAM) if its body is still waiting, and say whether it was:
        a request whose sender gave up must not leave later, as the retry would deliver it twice.
        A stream the peer has closed already needs no reset."""
        if self._unsent.pop(stream_id, None) is None:
            return False
        with contextlib.suppress(h2.exceptions.ProtocolError):
            self.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
        return True

    def _send_unsent(self) -> None:
        """Waiting bodies, oldest first, as far as the windows allow. A stream blocked by its own
        window does not hold up the others; one the peer has closed is dropped."""
        for stream_id in list(self._unsent):
            if self.outbound_flow_control_window <= 0:
                return
            try:
                finished = self._send_some(stream_id, self._unsent[stream_id])
            except h2.exceptions.ProtocolError:
                finished = True
            if finished:
                del self._unsent[stream_id]

    def _send_some(self, stream_id: int, waiting: _Unsent) -> bool:
        """Frames of ``waiting`` while the windows allow; True once the body has all gone."""
        while True:
            room = min(self.local_flow_control_window(stream_id), self.max_outbound_frame_size)
            if room <= 0 and waiting.data:
                return False
            chunk, waiting.data = waiting.data[:room], waiting.data[room:]
            last = not waiting.data
            super().send_data(stream_id, chunk, end_stream=waiting.end_stream and last)
            if last:
                return True
