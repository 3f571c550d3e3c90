"""The registry signs every ``apps.changed`` record, else anyone able to write to the topic could
give any app an admin key. The keys derive from HERALD_SECRETS_KEYS, which only Herald's services
hold: the first signs, any verifies, so they rotate as the secrets keys always did."""

from __future__ import annotations

from shared.secrets import SecretBox, SecretsUnavailable
from shared.signatures import SIGNATURE_HEADER, Headers, SignatureProblem, matches, presented, sign

PURPOSE = "apps.changed/signature"


class AppsSignature:
    """Signs and checks ``apps.changed`` records with keys derived from the secrets keys."""

    def __init__(self, box: SecretBox) -> None:
        self._keys = {key.key_id: key.secret for key in box.derived_keys(PURPOSE)}
        self._signing = next(iter(self._keys.items()), None)

    def headers(self, value: bytes) -> dict[str, str]:
        """The signature header for a record with this value."""
        if self._signing is None:
            raise SecretsUnavailable(
                "HERALD_SECRETS_KEYS is not set: apps.changed cannot be signed"
            )
        key_id, secret = self._signing
        return {SIGNATURE_HEADER: sign(key_id, secret, value)}

    def refusal(self, value: bytes, headers: Headers) -> str | None:
        """Why a record with this value and these headers is not a genuine announcement (None
        when it is)."""
        try:
            signature = presented(headers)
        except SignatureProblem as problem:
            return str(problem)
        secret = self._keys.get(signature.key_id)
        if secret is None:
            return f"signed with key {signature.key_id}, which is not one of HERALD_SECRETS_KEYS"
        if not matches(secret, value, signature):
            return f"the signature does not match the record (key {signature.key_id})"
        return None
