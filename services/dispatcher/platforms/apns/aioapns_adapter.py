"""aioapns, aimed at the configured APNs endpoint and sharing one provider token.

aioapns has no host or port argument: its pool opens connections with ``protocol_class``, whose
``APNS_SERVER``/``APNS_PORT`` say where, so a configured endpoint is a subclass. That subclass also
keeps a reply's Retry-After (aioapns drops other headers), reassembles an error body split over
several DATA frames (aioapns parses each frame alone) and returns the flow-control credit of what
it read (aioapns never does, so a long-lived connection would stall after 64 KiB of error bodies).

Its HTTP/2 state is Herald's compact one, and leaves headers as aioapns wrote them (lower-case
already): h2's normalising would mark the provider token never-indexed and Huffman-code it on every
request, a fifth of the dispatcher's CPU per push under load (make bench, py-spy); indexed, it is
sent once per connection and then referenced. See services/dispatcher/transport/http2.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import ssl
import tempfile
from collections import OrderedDict
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import h2.config
import h2.exceptions
from aioapns.common import NotificationResult
from aioapns.connection import (
    APNsBaseClientProtocol,
    APNsBaseConnectionPool,
    APNsCertConnectionPool,
    APNsKeyConnectionPool,
    APNsTLSClientProtocol,
)

from services.dispatcher.platforms.apns.tokens import ProviderTokens
from services.dispatcher.transport.http2 import CompactH2Connection
from shared.platforms.base import CredentialsError

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


def protocol_class(host: str, port: int, notes: RetryAfterNotes) -> type[APNsTLSClientProtocol]:
    """A client protocol that connects to ``host:port`` and notes Retry-After headers."""

    class ConfiguredProtocol(APNsTLSClientProtocol):
        APNS_SERVER = host
        APNS_PORT = port
        INACTIVITY_TIME = IDLE_SECONDS

        partial: dict[int, bytes]

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.conn = CompactH2Connection(
                h2.config.H2Configuration(client_side=True, normalize_outbound_headers=False)
            )
            self.partial = {}

        def on_response_received(self, headers: dict[bytes, bytes]) -> None:
            retry_after = headers.get(b"retry-after")
            if retry_after is not None:
                notes.note(headers.get(b"apns-id", b"").decode(), retry_after.decode())
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
            super().on_data_received(body, stream_id)

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
                return
            status = self.request_statuses.pop(apns_id, None)
            waiting = self.requests.pop(apns_id, None)
            if waiting is not None and not waiting.done() and status:
                waiting.set_result(NotificationResult(apns_id, status))

    return ConfiguredProtocol


def ssl_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """TLS that trusts ``ca_bundle`` (or the system) and offers HTTP/2 by ALPN."""
    context = ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)
    context.set_alpn_protocols(["h2"])
    return context


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
        self.tokens = tokens

    async def create_connection(self) -> APNsBaseClientProtocol:
        factory = partial(
            self.protocol_class,
            self.apns_topic or "",
            self.loop,
            self.discard_connection,  # type: ignore[arg-type]  # aioapns types it NoReturn
            self.tokens,
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


def create_pool(
    *,
    host: str,
    port: int,
    topic: str,
    tokens: ProviderTokens | None,
    cert_pem: bytes | None,
    ca_bundle: Path | None,
    max_connections: int,
    notes: RetryAfterNotes,
) -> APNsBaseConnectionPool:
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
    pool.protocol_class = protocol_class(host, port, notes)
    return pool
