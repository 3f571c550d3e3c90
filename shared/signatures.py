"""Signed Kafka records: ``herald-signature: v1=<key id>:<hex HMAC-SHA256 of the value bytes>``.
The bytes are signed as they travel, so nothing is re-serialized to check them and fields a newer
producer added are covered too; the key id names the key to check with, so keys rotate."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass

SIGNATURE_HEADER = "herald-signature"
_FORM = re.compile(r"^v1=([A-Za-z0-9-]{1,64}):([0-9a-f]{64})$")

#: Record headers as Kafka clients hand them over: (name, value) pairs, a name possibly repeated.
Headers = Sequence[tuple[str, bytes | None]]


class SignatureProblem(ValueError):
    """The record carries no usable signature; the message says what to fix."""


@dataclass(frozen=True)
class Presented:
    """The signature a record carries: which key, and the digest."""

    key_id: str
    digest: str


def sign(key_id: str, secret: bytes, value: bytes) -> str:
    """The header value signing ``value`` with ``secret`` (known to readers as ``key_id``)."""
    return f"v1={key_id}:{hmac.new(secret, value, hashlib.sha256).hexdigest()}"


def presented(headers: Headers) -> Presented:
    """The one signature in ``headers``; SignatureProblem when none, several or malformed."""
    found = [value for name, value in headers if name.lower() == SIGNATURE_HEADER]
    if not found:
        raise SignatureProblem(f"{SIGNATURE_HEADER}: the record is not signed")
    if len(found) > 1:
        raise SignatureProblem(f"{SIGNATURE_HEADER}: the record carries {len(found)}; give one")
    match = _FORM.match((found[0] or b"").decode("ascii", errors="replace"))
    if match is None:
        raise SignatureProblem(f"{SIGNATURE_HEADER}: expected v1=<key id>:<64 lower-case hex>")
    return Presented(key_id=match.group(1), digest=match.group(2))


def matches(secret: bytes, value: bytes, signature: Presented) -> bool:
    """True when ``signature`` is the digest of ``value`` under ``secret`` (constant time)."""
    expected = hmac.new(secret, value, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.digest)
