"""The HTTP/2 state under aioapns: it keeps per stream what aioapns can only key by apns-id.

aioapns matches a reply to its request by the reply's apns-id and has no handler for a stream the
server resets. Every attempt of one push carries the same apns-id (Apple reports a notification
under it), so a retry can share a connection with the stream of an attempt that timed out: that
stream's late reply must not answer the retry. Here such a stream is abandoned: what it still
receives is dropped but its end, which gives its channel back. Resets are held for the protocol
to handle after each read, as aioapns would log them and go on.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import h2.events
import h2.exceptions

from services.dispatcher.platforms.apns.windowed_h2 import WindowedH2Connection

if TYPE_CHECKING:
    from typing_extensions import Buffer

#: The stream the running task's send opened (aioapns does not say which stream a send took).
OPENED_STREAM: ContextVar[int | None] = ContextVar("herald_apns_opened_stream", default=None)


class ApnsH2Connection(WindowedH2Connection):
    """Herald's compact HTTP/2 state, bodies waiting for window, a negative apns-expiration sent
    as 0 (aioapns writes now + time to live; see ``aioapns_adapter.ONCE``), abandoned streams
    silenced and stream resets held back from aioapns."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._abandoned: set[int] = set()
        self._resets: list[h2.events.StreamReset] = []

    def send_headers(self, stream_id: int, headers: Any, *args: Any, **kwargs: Any) -> None:
        once = [
            (name, "0") if name == "apns-expiration" and value.startswith("-") else (name, value)
            for name, value in headers
        ]
        super().send_headers(stream_id, once, *args, **kwargs)
        OPENED_STREAM.set(stream_id)

    def abandon(self, stream_id: int) -> bool:
        """Give up on ``stream_id``, whose sender stopped waiting; True if its body was still
        waiting, so the stream is withdrawn (reset, see ``withdraw``) and its channel free now.
        Otherwise APNs has it whole and may act on it: it stays open, and of what it receives
        only its end or reset comes out of ``receive_data``, to give back its channel then."""
        if self.withdraw(stream_id):
            return True
        stream = self.streams.get(stream_id)
        if stream is not None and not stream.closed:
            self._abandoned.add(stream_id)
        return False

    def receive_data(self, data: Buffer) -> list[h2.events.Event]:
        """The peer's events, less the replies to abandoned streams (their bytes credited back)
        and less stream resets, kept for ``take_resets``."""
        kept: list[h2.events.Event] = []
        for event in super().receive_data(data):
            stream_id = getattr(event, "stream_id", None)
            if isinstance(event, h2.events.StreamReset):
                self._abandoned.discard(event.stream_id)
                self._resets.append(event)
            elif stream_id not in self._abandoned:
                kept.append(event)
            elif isinstance(event, h2.events.StreamEnded):
                self._abandoned.discard(event.stream_id)
                kept.append(event)
            elif isinstance(event, h2.events.DataReceived) and event.flow_controlled_length:
                with contextlib.suppress(h2.exceptions.ProtocolError):
                    self.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        return kept

    def take_resets(self) -> list[h2.events.StreamReset]:
        """Streams reset since the last call (by the peer, or by h2 for the peer's error)."""
        resets, self._resets = self._resets, []
        return resets
