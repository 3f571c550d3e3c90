"""Which app a Kafka record comes from: the one whose intake key signed it, never merely the app
the record names. Anyone able to write to the intake topics could otherwise send, or cancel, as
any app."""

from __future__ import annotations

from shared.signatures import SIGNATURE_HEADER, Headers, SignatureProblem, matches, presented
from shared.tenancy.directory import AppDirectory

HOW_TO_SIGN = "sign the record's value with an intake key of the app (herald intake-keys create)"


class IntakeAuth:
    """Checks a record's signature against the intake keys of the app it claims."""

    def __init__(self, directory: AppDirectory) -> None:
        self.directory = directory

    def refusal(self, app_id: str, value: bytes, headers: Headers) -> str | None:
        """Why the record cannot be taken as ``app_id``'s; None when its signature proves it."""
        if not self.directory.known(app_id):
            return f"app_id: unknown app {app_id!r}"
        try:
            signature = presented(headers)
        except SignatureProblem as problem:
            return f"{problem}; {HOW_TO_SIGN}"
        secret = self.directory.intake_key(app_id, signature.key_id)
        if secret is None:
            return (
                f"{SIGNATURE_HEADER}: key {signature.key_id} is not an intake key of app "
                f"{app_id!r} (unknown, or revoked)"
            )
        if not matches(secret, value, signature):
            return (
                f"{SIGNATURE_HEADER}: does not match the record's value under key "
                f"{signature.key_id}; sign the exact bytes sent"
            )
        return None
