"""The APNs emulator's request rules: Apple's, from ``shared.platforms.apns.rules`` (the ones ingest
applies before anything is queued, so the two cannot drift), answered as Apple answers them.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.emulators.apns.errors import ApnsReject
from shared.platforms.apns.rules import ApnsRefused, Checked, check_request

__all__ = ["Checked", "check"]


def check(
    headers: Sequence[tuple[str, str]],
    token: str,
    body: bytes,
    allowed_topics: Sequence[str],
) -> Checked:
    """Apply APNs' rules in the order Apple reports them; raise ApnsReject on the first broken."""
    try:
        return check_request(headers, token, body, allowed_topics)
    except ApnsRefused as refused:
        raise ApnsReject(refused.refusal.status, refused.refusal.reason) from None
