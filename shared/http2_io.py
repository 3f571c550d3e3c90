"""What Herald's HTTP/2 client (the dispatchers) and server (the emulators' provider port) both do
with an h2 connection: write the bytes h2 has ready, and send a body as flow control allows."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import cast

import h2.connection


class H2Writer:
    """h2's outgoing bytes onto the transport, now or once at the end of this loop pass.

    Writing at the end of the pass lets frames made together (the requests of a batch, answers
    finished together) leave in one TLS write instead of one each.
    """

    def __init__(self, connection: h2.connection.H2Connection) -> None:
        self.connection = connection
        self.transport: asyncio.Transport | None = None
        self._pending = False

    def attach(self, transport: asyncio.BaseTransport) -> asyncio.Transport:
        """Write to ``transport`` from now on.

        A stream protocol's ``connection_made`` always gets a stream transport, but not always an
        ``asyncio.Transport`` instance: uvloop's (plain TCP or TLS) are classes of their own that
        share only the methods. An isinstance check here refused every uvloop connection.
        """
        self.transport = cast("asyncio.Transport", transport)
        return self.transport

    def soon(self) -> None:
        if not self._pending:
            self._pending = True
            asyncio.get_running_loop().call_soon(self.now)

    @property
    def open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def now(self) -> None:
        self._pending = False
        data = self.connection.data_to_send()
        if data and self.transport is not None and self.open:
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    async def send_body(
        self,
        stream_id: int,
        body: bytes,
        *,
        end_stream: bool,
        sending: Callable[[], bool],
        window_opened: Callable[[], Awaitable[None]],
    ) -> bool:
        """Send ``body`` while ``sending()`` holds, waiting for the peer's windows when they are
        used up; True once all of it went (the last frame ending the stream if asked)."""
        sent = 0
        while sent < len(body):
            if not sending():
                return False
            window = min(
                self.connection.local_flow_control_window(stream_id),
                self.connection.max_outbound_frame_size,
            )
            if window <= 0:
                await window_opened()
                continue
            chunk = body[sent : sent + window]
            sent += len(chunk)
            self.connection.send_data(stream_id, chunk, end_stream=end_stream and sent >= len(body))
            self.soon()
        return True
