"""The one module that reaches into aioapns, checked at import against the versions it was tested
with: aioapns has no stable way to do what Herald needs, so this leans on its internals.

aioapns has no host or port argument: its pool opens connections with ``protocol_class``, whose
``APNS_SERVER``/``APNS_PORT`` say where, so a configured endpoint is a subclass. That subclass also
keeps a reply's Retry-After (aioapns drops other headers), reassembles an error body split over
several DATA frames (aioapns parses each frame alone) and returns the flow-control credit of what
it read (aioapns never does, so a long-lived connection would stall after 64 KiB of error bodies).
aioapns signs a provider token per connection; here every connection asks ``ProviderTokens``.

aioapns fails a request whose body does not fit the server's flow-control windows (h2 raises
FlowControlError in its ``send_notification``); the connection here is an ``ApnsH2Connection``,
where such a body waits for window instead. That relies on aioapns 4.0's ``send_notification``
handing the body to ``conn.send_data`` and then flushing, and on its ``data_received`` flushing
after ``conn.receive_data``. A send cancelled by its timeout is forgotten by stream: withdrawn
(stream reset, channel released) while its body still waits, else its late reply is dropped by
stream id, never matched by apns-id to a later attempt of the same push. A stream APNs resets
fails its send and gives back its channel (aioapns ignores resets). On GOAWAY, what APNs cannot
have processed fails as NotProcessed. tests/unit/dispatcher/test_apns_adapter.py fails if any of
the aioapns methods this relies on changes.

Its HTTP/2 state is Herald's compact one, and leaves headers as aioapns wrote them (lower-case
already): h2's normalising would mark the provider token never-indexed and Huffman-code it on every
request, a fifth of the dispatcher's CPU per push under load (make bench, py-spy); indexed, it is
sent once per connection and then referenced. h2 does not validate the headers we send either
(~6% of the dispatcher's CPU): every value is ours (the device token, the apns-id, the app's
topic, fields the contracts refuse CR, LF and NUL in); APNs' replies are still validated. See
services/dispatcher/transport/http2.py. aioapns writes to the socket and re-arms its idle timer
on every send; here what a loop pass made leaves in one write (shared.http2_io.H2Writer) and the
idle timer is armed once and re-armed when it fires early.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import ssl
import tempfile
from collections import OrderedDict
from collections.abc import Iterator
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

import h2.config
import h2.exceptions
from h2.errors import ErrorCodes
from h2.events import ConnectionTerminated, StreamReset

from services.dispatcher.platforms.apns.apns_h2 import OPENED_STREAM, ApnsH2Connection
from services.dispatcher.platforms.apns.classify import Reply
from services.dispatcher.platforms.apns.tokens import ProviderTokens
from services.dispatcher.transport.base import NotProcessed
from services.dispatcher.transport.http2 import UNPROCESSED_RESENDS
from shared.http2_io import H2Writer
from shared.platforms.apns.payload import ApnsMessage
from shared.platforms.base import CredentialsError

log = logging.getLogger(__name__)

#: The aioapns releases this module was tested with (e2e and integration); pyproject.toml pins one.
TESTED_VERSIONS = frozenset({"4.0"})


def check_version(installed: str) -> None:
    """Refuse an aioapns this module was not tested with, instead of misbehaving at a push."""
    if installed not in TESTED_VERSIONS:
        tested = ", ".join(sorted(TESTED_VERSIONS))
        raise ImportError(
            f"aioapns {installed} is installed; Herald's APNs adapter reaches into aioapns "
            f"internals and is tested only with aioapns {tested}: install that version"
        )


check_version(version("aioapns"))

# Only now: a release that moved these internals fails with the message above, not a missing name.
from aioapns.common import NotificationRequest, NotificationResult, PushType  # noqa: E402
from aioapns.connection import (  # noqa: E402
    APNsBaseClientProtocol,
    APNsBaseConnectionPool,
    APNsCertConnectionPool,
    APNsKeyConnectionPool,
    APNsTLSClientProtocol,
    AuthorizationHeaderProvider,
    ChannelPool,
)
from aioapns.exceptions import ConnectionClosed, ConnectionError, MaxAttemptsExceeded  # noqa: E402

#: What a failed connection to APNs raises: the push waits and is tried again.
CONNECTION_ERRORS = (
    ConnectionError,
    ConnectionClosed,
    MaxAttemptsExceeded,
    NotProcessed,
    OSError,
    ssl.SSLError,
)

#: aioapns writes apns-expiration as now + time_to_live, so a push to deliver once or never
#: (time_to_live 0, Apple's apns-expiration 0) is handed to it as this: the sum comes out
#: negative, and the connection sends 0 instead (a past date would be a different instruction).
ONCE = -(2**62)

#: Keep connections open while idle for this long (aioapns closes them after 10 s).
IDLE_SECONDS = 300
RETRY_AFTER_KEPT = 10_000
MAX_ERROR_BODY = 64 * 1024


class RetryAfterNotes:
    """Retry-After values by apns-id, for the provider to pick up with the reply (bounded)."""

    def __init__(self) -> None:
        self._values: OrderedDict[str, str] = OrderedDict()

    def note(self, apns_id: str, value: str) -> None:
        self._values[apns_id] = value
        while len(self._values) > RETRY_AFTER_KEPT:
            self._values.popitem(last=False)

    def take(self, apns_id: str) -> str | None:
        return self._values.pop(apns_id, None)


class _Channels(ChannelPool):
    """aioapns' channel pool, but a lost connection leaves the sends waiting for a channel in the
    waiting line as it fails them: asyncio's Semaphore (3.11.7 here) takes a waiter off the line
    itself when it wakes, and one aioapns had taken off already raises ValueError instead of
    ConnectionClosed (the push would be parked as failed, not retried)."""

    def destroy(self, exc: Exception) -> None:
        for waiter in self._waiters or ():
            if not waiter.done():
                waiter.set_exception(exc)


def protocol_class(
    host: str, port: int, notes: RetryAfterNotes, *, idle_seconds: float = IDLE_SECONDS
) -> type[APNsTLSClientProtocol]:
    """A client protocol that connects to ``host:port``, notes Retry-After headers and closes
    after ``idle_seconds`` without a send or a read."""

    class ConfiguredProtocol(APNsTLSClientProtocol):
        APNS_SERVER = host
        APNS_PORT = port

        conn: ApnsH2Connection
        partial: dict[int, bytes]
        draining: bool

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.conn = ApnsH2Connection(
                h2.config.H2Configuration(
                    client_side=True,
                    normalize_outbound_headers=False,
                    validate_outbound_headers=False,
                )
            )
            self.out = H2Writer(self.conn)
            self.active_at = 0.0
            self.free_channels = _Channels(self.free_channels.bound)
            self.partial = {}
            self.draining = False

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.out.attach(transport)
            super().connection_made(transport)
            self.out.now()

        def flush(self) -> None:
            """What h2 has ready leaves at the end of this loop pass: the sends of a batch go in
            one TLS write, not one each as aioapns writes them."""
            self.refresh_inactivity_timer()
            self.out.soon()

        def refresh_inactivity_timer(self) -> None:
            """Note the activity; the idle timer is armed once and re-armed when it fires early,
            instead of being replaced on every send as aioapns does."""
            self.active_at = self.loop.time()
            if self.inactivity_timer is None:
                self.inactivity_timer = self.loop.call_later(idle_seconds, self._close_if_idle)

        def _close_if_idle(self) -> None:
            idle = self.loop.time() - self.active_at
            if idle >= idle_seconds:
                self.close()
            else:
                self.inactivity_timer = self.loop.call_later(
                    idle_seconds - idle, self._close_if_idle
                )

        def close(self) -> None:
            self.out.now()
            super().close()

        def _close_if_drained(self) -> None:
            if self.draining and not self.request_streams:
                self.close()

        @property
        def is_busy(self) -> bool:
            """A connection that got GOAWAY takes no new send, whatever SETTINGS come after."""
            return self.draining or super().is_busy

        def on_remote_settings_changed(self, changed_settings: Any) -> None:
            if not self.draining:
                super().on_remote_settings_changed(changed_settings)

        async def send_notification(self, request: NotificationRequest) -> NotificationResult:
            OPENED_STREAM.set(None)
            try:
                return await super().send_notification(request)
            except asyncio.CancelledError:
                stream_id = OPENED_STREAM.get()
                if stream_id is not None:
                    self._abandon(stream_id)
                raise

        def _abandon(self, stream_id: int) -> None:
            """Forget a cancelled send's stream, as a later attempt of the same push (same
            apns-id) may use this connection: its entries go (the request's only if no other
            send has registered under that apns-id since) and the connection drops its reply.
            Its channel is free at once if its body was still waiting (withdrawn), else when
            the stream ends."""
            self.partial.pop(stream_id, None)
            apns_id = self.request_streams.pop(stream_id, None)
            cancelled = self.requests.get(apns_id or "")
            if apns_id is not None and cancelled is not None and cancelled.done():
                del self.requests[apns_id]
                self.request_statuses.pop(apns_id, None)
            if self.conn.abandon(stream_id):
                self.free_channels.release()
                self.flush()
            self._close_if_drained()

        def _forget(self, stream_id: int) -> asyncio.Future[NotificationResult] | None:
            """Drop the stream's entries; the future of its request, if one was registered."""
            self.partial.pop(stream_id, None)
            apns_id = self.request_streams.pop(stream_id, None)
            if apns_id is None:
                return None
            self.request_statuses.pop(apns_id, None)
            return self.requests.pop(apns_id, None)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            for reset in self.conn.take_resets():
                self.on_stream_reset(reset)

        def on_stream_reset(self, event: StreamReset) -> None:
            """aioapns ignores a reset stream: its send waited out its timeout and its channel
            and entries were never given back. REFUSED_STREAM (the server's stream limit, which
            aioapns assumes is 1000 until the server's SETTINGS arrive) means APNs did not
            process it (RFC 9113 8.7): it goes again at once, uncounted. Any other reset is a
            failed connection attempt, retried as such."""
            if event.stream_id % 2 == 1:
                self.free_channels.release()
            waiting = self._forget(event.stream_id)
            self._close_if_drained()
            if waiting is None or waiting.done():
                return
            if event.error_code == ErrorCodes.REFUSED_STREAM:
                waiting.set_exception(NotProcessed("APNs refused the stream (REFUSED_STREAM)"))
            else:
                waiting.set_exception(
                    ConnectionClosed(f"APNs reset the stream: {event.error_code!r}")
                )

        def _nobody_waits(self, apns_id: str) -> bool:
            """Whether the request's future is done already: its send cancelled a moment ago (the
            task has not yet run to abandon its stream), or failed. aioapns would set it again,
            which raises."""
            waiting = self.requests.get(apns_id)
            return waiting is not None and waiting.done()

        def on_response_received(self, headers: dict[bytes, bytes]) -> None:
            """A reply to a send cancelled a moment ago is left for ``on_stream_ended``."""
            apns_id = headers.get(b"apns-id", b"").decode()
            if self._nobody_waits(apns_id):
                return
            retry_after = headers.get(b"retry-after")
            if retry_after is not None:
                notes.note(apns_id, retry_after.decode())
            super().on_response_received(headers)

        def on_data_received(self, data: bytes, stream_id: int) -> None:
            if data:
                with contextlib.suppress(h2.exceptions.ProtocolError):
                    self.conn.acknowledge_received_data(len(data), stream_id)
            body = self.partial.pop(stream_id, b"") + data
            if not body:
                return
            try:
                json.loads(body)
            except ValueError:
                if len(body) < MAX_ERROR_BODY:
                    self.partial[stream_id] = body
                return
            if not self._nobody_waits(self.request_streams.get(stream_id, "")):
                super().on_data_received(body, stream_id)

        def on_connection_terminated(self, event: ConnectionTerminated) -> None:
            """GOAWAY: requests above its last stream id were never processed (RFC 9113 6.8),
            nor were those whose body was still waiting for window, nor those still waiting for
            a channel. They fail with NotProcessed, to go again on another connection uncounted
            (aioapns would fail them with the processed ones, once the connection is lost); this
            one is handed out no more, and closes once the requests it kept are answered (aioapns
            would close at once and fail them, though APNs processed them: sent again, a
            duplicate push)."""
            self.free_channels.bound = 0
            last = event.last_stream_id or 0
            unsent = set(self.conn.take_unsent())
            for stream_id in [s for s in self.request_streams if s > last or s in unsent]:
                waiting = self._forget(stream_id)
                if waiting is not None and not waiting.done():
                    waiting.set_exception(NotProcessed("APNs sent GOAWAY before this request"))
            self.free_channels.destroy(NotProcessed("APNs sent GOAWAY before this request"))
            log.warning(
                "APNs sent GOAWAY (%s, last stream %d): %d requests it kept are answered before "
                "the connection closes",
                event.error_code,
                last,
                len(self.request_streams),
            )
            self.draining = True
            self._close_if_drained()

        def on_stream_ended(self, stream_id: int) -> None:
            """Forget the finished stream: aioapns drops a stream's entry only for an error with a
            reason, so every accepted push left one behind (~190 bytes each, for as long as the
            connection lives: tens of MB over a 1M-device broadcast). A reply still unanswered
            here had an error status without a readable reason; it gets its status now instead
            of waiting for the send timeout."""
            super().on_stream_ended(stream_id)
            self.partial.pop(stream_id, None)
            apns_id = self.request_streams.pop(stream_id, None)
            if apns_id is None:
                self._close_if_drained()
                return
            status = self.request_statuses.pop(apns_id, None)
            waiting = self.requests.pop(apns_id, None)
            if waiting is not None and not waiting.done() and status:
                waiting.set_result(NotificationResult(apns_id, status))
            self._close_if_drained()

        def connection_lost(self, exc: Exception | None) -> None:
            """aioapns fails every registered request; one whose send was cancelled a moment ago
            would raise there and leave the rest (and the sends waiting for a channel) waiting
            out their timeouts."""
            for apns_id in [a for a, waiting in self.requests.items() if waiting.done()]:
                del self.requests[apns_id]
            super().connection_lost(exc)

    return ConfiguredProtocol


def ssl_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """TLS that trusts ``ca_bundle`` (or the system) and offers HTTP/2 by ALPN."""
    context = ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)
    context.set_alpn_protocols(["h2"])
    return context


class _SharedHeader(AuthorizationHeaderProvider):
    """Hands aioapns the deployment's one provider token instead of one signed per connection."""

    def __init__(self, tokens: ProviderTokens) -> None:
        self._tokens = tokens

    def get_header(self) -> str:
        return self._tokens.get_header()


class SharedTokenPool(APNsKeyConnectionPool):
    """aioapns' token-auth pool, but every connection uses the deployment's one provider token."""

    def __init__(
        self,
        tokens: ProviderTokens,
        *,
        topic: str,
        max_connections: int,
        ssl_context: ssl.SSLContext,
    ) -> None:
        super().__init__(
            key="",
            key_id=tokens.key_id,
            team_id=tokens.team_id,
            topic=topic,
            max_connections=max_connections,
            max_connection_attempts=1,
            ssl_context=ssl_context,
        )
        self.header = _SharedHeader(tokens)

    async def create_connection(self) -> APNsBaseClientProtocol:
        factory = partial(
            self.protocol_class,
            self.apns_topic or "",
            self.loop,
            self.discard_connection,  # type: ignore[arg-type]  # aioapns types it NoReturn
            self.header,
        )
        protocol: APNsBaseClientProtocol = await self._create_connection(factory)
        return protocol


_MEMORY_DIR = Path("/dev/shm")  # noqa: S108 - memory-backed where it exists


@contextlib.contextmanager
def _briefly_on_disk(pem: bytes) -> Iterator[Path]:
    """The PEM in a file readable only by us, removed as soon as OpenSSL has loaded it.

    aioapns (through ssl.load_cert_chain) only takes a file path; the pool loads it at creation.
    """
    memory = _MEMORY_DIR if _MEMORY_DIR.is_dir() else None
    folder = Path(tempfile.mkdtemp(prefix="herald-apns-", dir=memory))
    path = folder / "client.pem"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class ApnsConnections:
    """aioapns' connection pool behind Herald's types: a rendered message in, APNs' reply out."""

    def __init__(self, pool: APNsBaseConnectionPool, notes: RetryAfterNotes) -> None:
        self._pool = pool
        self._notes = notes

    async def send(self, token: str, message: ApnsMessage, apns_id: str) -> Reply:
        """Send ``message`` to the device ``token``; raises one of CONNECTION_ERRORS when the
        connection fails. aioapns waits for the reply without limit: bound this call."""
        notification = NotificationRequest(
            device_token=token,
            message=message.payload,
            notification_id=apns_id,
            time_to_live=ONCE if message.time_to_live == 0 else message.time_to_live,
            priority=message.priority,
            collapse_key=message.collapse_id,
            push_type=PushType(message.push_type),
        )
        try:
            result = await self._send(notification)
        finally:
            retry_after = self._notes.take(apns_id)
        return Reply(
            status=int(result.status),
            reason=result.description,
            timestamp=result.timestamp,
            retry_after=retry_after,
            apns_id=result.notification_id,
        )

    async def _send(self, notification: NotificationRequest) -> NotificationResult:
        """A request APNs refused unprocessed goes again at once, a few times at most."""
        for _ in range(UNPROCESSED_RESENDS - 1):
            with contextlib.suppress(NotProcessed):
                return await self._pool.send_notification(notification)
        return await self._pool.send_notification(notification)

    def held(self) -> tuple[int, int]:
        """Open connections, and the per-request entries aioapns still holds on them: none once
        every reply is in (a leak here grows with every push a connection carries)."""
        connections = list(self._pool.connections)
        entries = sum(
            len(c.requests) + len(c.request_streams) + len(c.request_statuses) for c in connections
        )
        return len(connections), entries

    def close(self) -> None:
        self._pool.close()


def create_connections(
    *,
    host: str,
    port: int,
    topic: str,
    tokens: ProviderTokens | None,
    cert_pem: bytes | None,
    ca_bundle: Path | None,
    max_connections: int,
) -> ApnsConnections:
    """A pool for token auth (``tokens``) or certificate auth (``cert_pem``: certificate + key)."""
    context = ssl_context(ca_bundle)
    pool: APNsBaseConnectionPool
    if tokens is not None:
        pool = SharedTokenPool(
            tokens, topic=topic, max_connections=max_connections, ssl_context=context
        )
    elif cert_pem is not None:
        with _briefly_on_disk(cert_pem) as cert_file:
            pool = APNsCertConnectionPool(
                cert_file=str(cert_file),
                topic=topic,
                max_connections=max_connections,
                max_connection_attempts=1,
                ssl_context=context,
            )
    else:
        raise CredentialsError(
            "APNs needs HERALD_APNS_KEY_FILE (token auth) or HERALD_APNS_CERT_FILE"
        )
    notes = RetryAfterNotes()
    pool.protocol_class = protocol_class(host, port, notes)
    return ApnsConnections(pool, notes)
