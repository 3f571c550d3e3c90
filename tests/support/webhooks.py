"""A webhook receiver as an app would write one: the README's verification snippet, and a small
https server on 127.0.0.1 that records what Herald POSTs and answers as a test tells it."""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from shared.embedded.ports import free_port

TOLERANCE_SECONDS = 300


def verify(body: bytes, header: str, secret: str, now: float | None = None) -> bool:
    """The README's snippet: the body is genuine and was signed within the tolerance."""
    parts = [part.split("=", 1) for part in header.split(",") if "=" in part]
    timestamps = [value for key, value in parts if key == "t"]
    signatures = [value for key, value in parts if key == "v1"]
    if len(timestamps) != 1 or not timestamps[0].isdigit() or not signatures:
        return False
    signed_at = int(timestamps[0])
    if abs((time.time() if now is None else now) - signed_at) > TOLERANCE_SECONDS:
        return False  # too old (or from the future): a replay, or a clock far off
    expected = hmac.new(
        secret.encode(), f"{signed_at}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return any(hmac.compare_digest(expected, signature) for signature in signatures)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def delivery(self) -> str | None:
        return self.headers.get("Herald-Delivery")

    @property
    def payload(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """What came in, by path; on a ``flaky`` path each delivery's first POST is answered 500,
    on a ``refusing`` one every POST 410."""

    port: int
    posts: list[Received] = field(default_factory=list)
    flaky: set[str] = field(default_factory=set)
    refusing: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def answer(self, path: str, delivery: str | None) -> int:
        with self.lock:
            if path in self.refusing:
                return 410
            seen = any(p.path == path and p.delivery == delivery for p in self.posts)
            return 500 if path in self.flaky and not seen else 200

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [post for post in self.posts if post.path == path]


@contextmanager
def https_receiver(cert: Path, key: Path) -> Iterator[Receiver]:
    """A receiver on a free 127.0.0.1 port serving TLS with ``cert`` (trusted by the stack)."""
    receiver = Receiver(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = receiver.answer(self.path, self.headers.get("Herald-Delivery"))
            with receiver.lock:
                receiver.posts.append(Received(self.path, dict(self.headers), body, status))
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reads ``posts``."""

    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
