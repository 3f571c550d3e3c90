"""Credentials for the local stack, generated at run time into the run folder, never committed:
a CA and server certificate for the TLS emulators, an APNs signing key, a VAPID key and an FCM
service account. Both sides of each pair (emulator and dispatcher) are handed the same files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.emulators.apns.keys import write_auth_key
from services.emulators.fcm.accounts import write_service_account
from services.emulators.tls import CertificateFiles, create_ca
from services.emulators.webpush.keys import write_vapid_key

FCM_PROJECT = "herald-local"
APNS_TEAM_ID = "HERALDTEAM"
APNS_TOPIC = "com.example.herald"
VAPID_SUBJECT = "mailto:push@herald.localhost"


@dataclass(frozen=True)
class StackCredentials:
    """Paths of everything the emulators and dispatchers need to trust each other."""

    ca_bundle: Path
    server: CertificateFiles
    apns_key: Path
    vapid_key: Path
    vapid_public_key: str
    fcm_account: Path
    #: The FCM emulator's token endpoint, which the account names and the dispatcher is told.
    fcm_token_uri: str


def generate(
    folder: Path, *, fcm_token_uri: str, apns_key_id: str | None = None
) -> StackCredentials:
    """Mint every credential under ``folder`` (owner-only files); the APNs key file is named by
    ``apns_key_id`` when given (a new id otherwise), so a compose file can name it."""
    ca = create_ca(folder / "ca")
    vapid_key = folder / "vapid" / "vapid-private.pem"
    fcm_account = folder / "fcm-service-account.json"
    write_service_account(fcm_account, project_id=FCM_PROJECT, token_uri=fcm_token_uri)
    return StackCredentials(
        ca_bundle=ca.cert_path,
        server=ca.issue_server(folder / "tls"),
        apns_key=write_auth_key(folder / "apns", apns_key_id),
        vapid_key=vapid_key,
        vapid_public_key=write_vapid_key(vapid_key),
        fcm_account=fcm_account,
        fcm_token_uri=fcm_token_uri,
    )
