"""The FCM emulator's checks of a send request: Google's schema (``shared.platforms.fcm.schema``,
which ingest applies too, so the two cannot drift) and FCM's size limit, answered as FCM answers.
"""

from __future__ import annotations

from typing import Any

from services.emulators.fcm.errors import FcmApiError, invalid_argument
from shared.platforms.fcm.payload import MAX_PAYLOAD_BYTES, payload_size
from shared.platforms.fcm.schema import SendRequest, violations

#: FCM's limit for messages to a topic ("Message is too big" beyond it).
MAX_TOPIC_PAYLOAD_BYTES = 2048

__all__ = ["check_size", "parse_send_request", "payload_size"]


def parse_send_request(body: Any) -> SendRequest:
    """Validate a decoded JSON body; raise FcmApiError 400 naming every bad field."""
    problems = violations(body)
    if problems:
        raise invalid_argument(problems[0][1], problems)
    return SendRequest.model_validate(body)


def check_size(message: dict[str, Any]) -> None:
    """Refuse a message whose payload is over FCM's limit (lower for topic messages)."""
    limit = MAX_TOPIC_PAYLOAD_BYTES if message.get("topic") else MAX_PAYLOAD_BYTES
    size = payload_size(message)
    if size > limit:
        raise FcmApiError(
            400,
            f"Message is too big: its payload is {size} bytes, the limit is {limit} bytes",
            fcm_code="INVALID_ARGUMENT",
            violations=[("message", f"payload of {size} bytes exceeds {limit} bytes")],
        )
