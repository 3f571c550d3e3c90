"""Error bodies in Google's API shape: ``{"error": {code, message, status, details}}``.

FCM puts its own error code in a ``google.firebase.fcm.v1.FcmError`` detail and the offending
fields in a ``google.rpc.BadRequest`` detail; clients classify replies by both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"

#: The canonical status name of each HTTP code the emulator answers with.
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class FcmApiError(Exception):
    """A reply the send endpoint gives instead of a message name."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        fcm_code: str | None = None,
        violations: Sequence[tuple[str, str]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fcm_code = fcm_code
        self.violations = tuple(violations)
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        details: list[dict[str, Any]] = []
        if self.fcm_code is not None:
            details.append({"@type": FCM_ERROR_TYPE, "errorCode": self.fcm_code})
        if self.violations:
            details.append(
                {
                    "@type": BAD_REQUEST_TYPE,
                    "fieldViolations": [
                        {"field": field, "description": description}
                        for field, description in self.violations
                    ],
                }
            )
        error: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "status": STATUS_NAMES.get(self.code, "UNKNOWN"),
        }
        if details:
            error["details"] = details
        return {"error": error}


def invalid_argument(message: str, violations: Sequence[tuple[str, str]] = ()) -> FcmApiError:
    """400 INVALID_ARGUMENT, the reply to any malformed request."""
    return FcmApiError(400, message, fcm_code="INVALID_ARGUMENT", violations=violations)
