"""The header and payload rules APNs applies to a notification request, each with Apple's reason.

References: "Sending notification requests to APNs" (headers, push types, topics, sizes) and
"Handling notification responses from APNs" (reasons), developer.apple.com/documentation/
usernotifications.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.emulators.apns.errors import ApnsReject

MAX_PAYLOAD_BYTES = 4096
MAX_VOIP_PAYLOAD_BYTES = 5120
MAX_COLLAPSE_ID_BYTES = 64
DEVICE_TOKEN = re.compile(r"^[0-9a-fA-F]{64,200}$")
APNS_ID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)

#: Push types and the suffix their apns-topic must carry (bundle id + suffix).
TOPIC_SUFFIXES = {
    "alert": "",
    "background": "",
    "location": ".location-query",
    "voip": ".voip",
    "complication": ".complication",
    "fileprovider": ".pushkit.fileprovider",
    "mdm": "",
    "liveactivity": ".push-type.liveactivity",
    "pushtopic": "",
    "widgets": ".push-type.widgets",
    "controls": ".push-type.controls",
}


@dataclass(frozen=True)
class Checked:
    """A request that passed every rule, as the emulator records it."""

    apns_id: str | None
    topic: str
    push_type: str
    priority: int
    expiration: int | None
    collapse_id: str | None
    payload: dict[str, Any]


def check(
    headers: Sequence[tuple[str, str]],
    token: str,
    body: bytes,
    allowed_topics: Sequence[str],
) -> Checked:
    """Apply APNs' rules in the order Apple reports them; raise ApnsReject on the first broken."""
    counts = Counter(name for name, _ in headers if name.startswith("apns-"))
    if any(count > 1 for count in counts.values()):
        raise ApnsReject(400, "DuplicateHeaders")
    values = dict(headers)
    if not DEVICE_TOKEN.match(token):
        raise ApnsReject(400, "BadDeviceToken")
    apns_id = values.get("apns-id")
    if apns_id is not None and not APNS_ID.match(apns_id):
        raise ApnsReject(400, "BadMessageId")
    push_type = values.get("apns-push-type", "alert")
    if push_type not in TOPIC_SUFFIXES:
        raise ApnsReject(400, "InvalidPushType")
    topic = values.get("apns-topic")
    if not topic:
        raise ApnsReject(400, "MissingTopic")
    _check_topic(topic, push_type, allowed_topics)
    priority = _priority(values.get("apns-priority"), push_type)
    expiration = _expiration(values.get("apns-expiration"))
    collapse_id = values.get("apns-collapse-id")
    if collapse_id is not None and len(collapse_id.encode()) > MAX_COLLAPSE_ID_BYTES:
        raise ApnsReject(400, "BadCollapseId")
    return Checked(
        apns_id, topic, push_type, priority, expiration, collapse_id, _payload(body, push_type)
    )


def _check_topic(topic: str, push_type: str, allowed_topics: Sequence[str]) -> None:
    suffix = TOPIC_SUFFIXES[push_type]
    if suffix and not topic.endswith(suffix):
        raise ApnsReject(400, "BadTopic")
    bundle = topic[: len(topic) - len(suffix)] if suffix else topic
    if allowed_topics and bundle not in allowed_topics:
        raise ApnsReject(400, "TopicDisallowed")


def _priority(value: str | None, push_type: str) -> int:
    if value is None:
        return 5 if push_type == "background" else 10
    if value not in ("1", "5", "10"):
        raise ApnsReject(400, "BadPriority")
    if push_type == "background" and value == "10":
        raise ApnsReject(400, "BadPriority")
    return int(value)


def _expiration(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        raise ApnsReject(400, "BadExpirationDate")
    return int(value)


def _payload(body: bytes, push_type: str) -> dict[str, Any]:
    if not body:
        raise ApnsReject(400, "PayloadEmpty")
    limit = MAX_VOIP_PAYLOAD_BYTES if push_type == "voip" else MAX_PAYLOAD_BYTES
    if len(body) > limit:
        raise ApnsReject(413, "PayloadTooLarge")
    try:
        payload = json.loads(body)
    except ValueError:
        raise ApnsReject(400, "PayloadEmpty") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("aps", {}), dict):
        raise ApnsReject(400, "PayloadEmpty")
    return payload
