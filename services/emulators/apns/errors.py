"""Apple's error replies: an HTTP status and a JSON body ``{"reason": ..., "timestamp"?: ...}``.

Reasons and statuses follow "Handling notification responses from APNs"
(https://developer.apple.com/documentation/usernotifications/handling-notification-responses-from-apns).
"""

from __future__ import annotations

from typing import Any


class ApnsReject(Exception):
    """A reply other than 200; ``timestamp`` (ms since the epoch) only for 410."""

    def __init__(
        self,
        status: int,
        reason: str,
        *,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.timestamp = timestamp
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"reason": self.reason}
        if self.timestamp is not None:
            body["timestamp"] = self.timestamp
        return body
