"""The platform registry: one entry per platform, one credential parser each that reads back what
the registry stores and refuses, naming the problem, what cannot work (purity: import-linter)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from contracts.push import PLATFORMS as PLATFORM_NAMES
from services.dispatcher.settings import DispatcherSettings
from services.emulators.fcm.accounts import generate_service_account
from shared.platforms import PLATFORMS, canonical_token
from shared.platforms.apns.credentials import certificate_credential, token_credential
from shared.platforms.apns.settings import ApnsSettings
from shared.platforms.base import CredentialsError, StoredCredential, TokenFormatError
from shared.platforms.fcm.credentials import GOOGLE_TOKEN_URI, service_account_credential
from shared.platforms.webpush.credentials import application_server_key, vapid_credential

pytestmark = pytest.mark.unit


def pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def certificate_with_key() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "com.example.app")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM) + pem(key)


def test_every_platform_has_one_entry_and_its_settings_reach_the_dispatcher() -> None:
    assert list(PLATFORMS) == list(PLATFORM_NAMES)
    for name, rules in PLATFORMS.items():
        assert rules.name == name
        assert issubclass(DispatcherSettings, rules.settings)
        assert rules.configured(DispatcherSettings()) is False


def test_what_the_operator_stores_the_dispatcher_reads_back() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    account = generate_service_account(project_id="proj-1", token_uri=GOOGLE_TOKEN_URI)
    stored = [
        token_credential(
            pem(key),
            key_id="ABCDE12345",
            team_id="TEAM123456",
            topic="com.example.app",
            environment="sandbox",
        ),
        certificate_credential(
            certificate_with_key(), topic="com.example.app", environment="production"
        ),
        service_account_credential(json.dumps(account).encode()),
        vapid_credential(pem(key), subject="mailto:ops@example.com"),
    ]

    apns_token, apns_cert, fcm, vapid = (PLATFORMS[s.platform].parse_credential(s) for s in stored)

    assert (apns_token.topic, apns_token.environment) == ("com.example.app", "sandbox")
    assert apns_token.signing_key.key_id == "ABCDE12345"
    assert apns_cert.certificate_pem == stored[1].secret
    assert (fcm.project_id, fcm.client_email) == ("proj-1", account["client_email"])
    assert stored[2].settings == {"project_id": "proj-1", "client_email": account["client_email"]}
    assert vapid.subject == "mailto:ops@example.com"
    assert vapid.key.private_numbers() == key.private_numbers()


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        (StoredCredential("apns", "apns_token", {}, b"nope"), "not a usable ES256 .p8 key"),
        (StoredCredential("apns", "apns_certificate", {}, b"nope"), "certificate file"),
        (StoredCredential("apns", "vapid", {}, b""), "not an APNs one"),
        (StoredCredential("fcm", "fcm_service_account", {}, b"{"), "not JSON"),
        (
            StoredCredential("fcm", "fcm_service_account", {}, b'{"type": "service_account"}'),
            "project_id is missing",
        ),
        (StoredCredential("webpush", "vapid", {}, b"nope"), "not a readable PEM private key"),
    ],
)
def test_a_credential_that_cannot_work_is_refused_naming_why(
    stored: StoredCredential, message: str
) -> None:
    with pytest.raises(CredentialsError, match=message):
        PLATFORMS[stored.platform].parse_credential(stored)


def test_stored_credentials_must_name_what_the_dispatcher_needs() -> None:
    key = pem(ec.generate_private_key(ec.SECP256R1()))
    token = token_credential(
        key, key_id="ABCDE12345", team_id="TEAM123456", topic="com.x", environment="sandbox"
    )
    for settings, message in [
        ({**token.settings, "environment": "staging"}, "environment: one of production, sandbox"),
        ({**token.settings, "team_id": "team"}, "team id"),
        ({k: v for k, v in token.settings.items() if k != "topic"}, "topic"),
    ]:
        with pytest.raises(CredentialsError, match=message):
            PLATFORMS["apns"].parse_credential(
                StoredCredential("apns", "apns_token", settings, key)
            )
    with pytest.raises(CredentialsError, match="subject"):
        PLATFORMS["webpush"].parse_credential(StoredCredential("webpush", "vapid", {}, key))


def test_tokens_are_checked_by_their_platforms_rule() -> None:
    assert canonical_token("apns", "AB" * 32) == "ab" * 32
    assert canonical_token("fcm", "a:" * 20) == "a:" * 20
    with pytest.raises(TokenFormatError, match="webpush tokens are 1 to 4096"):
        canonical_token("webpush", "")


def test_a_service_account_naming_another_token_endpoint_is_refused_unless_listed() -> None:
    local = "http://127.0.0.1:8090/token"
    document = json.dumps(generate_service_account(project_id="proj-1", token_uri=local)).encode()

    with pytest.raises(CredentialsError, match="Herald sends token grants only to https://oauth2"):
        service_account_credential(document)
    assert service_account_credential(document, token_uris=[local]).settings == {
        "project_id": "proj-1",
        "client_email": json.loads(document)["client_email"],
    }


@pytest.mark.parametrize("project", ["proj/../../other", "proj?x=1", "proj\r\nx", "Proj-1", ""])
def test_a_project_id_is_nothing_but_a_project_id(project: str) -> None:
    account = generate_service_account(project_id="proj-1", token_uri=GOOGLE_TOKEN_URI)
    document = json.dumps(account | {"project_id": project}).encode()

    with pytest.raises(CredentialsError, match="project_id"):
        service_account_credential(document)


def test_every_token_grant_goes_to_googles_endpoint_unless_the_operator_says_otherwise() -> None:
    assert DispatcherSettings().fcm_token_uri == GOOGLE_TOKEN_URI


def test_the_vapid_public_key_is_the_uncompressed_point_browsers_subscribe_with() -> None:
    key = ec.generate_private_key(ec.SECP256R1())

    published = application_server_key(key)

    assert "=" not in published
    point = base64.urlsafe_b64decode(published + "=")
    assert len(point) == 65
    assert point[0] == 4
    decoded = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    assert decoded.public_numbers() == key.public_key().public_numbers()


def test_each_apns_environment_has_its_endpoint() -> None:
    apple = ApnsSettings()
    emulator = ApnsSettings(apns_host="127.0.0.1", apns_port=8443)
    split = ApnsSettings(
        apns_host="127.0.0.1", apns_port=8443, apns_sandbox_host="localhost", apns_sandbox_port=9443
    )

    assert apple.apns_endpoint("production") == ("api.push.apple.com", 443)
    assert apple.apns_endpoint("sandbox") == ("api.sandbox.push.apple.com", 443)
    assert emulator.apns_endpoint("sandbox") == ("127.0.0.1", 8443)
    assert split.apns_endpoint("production") == ("127.0.0.1", 8443)
    assert split.apns_endpoint("sandbox") == ("localhost", 9443)
    assert ApnsSettings(apns_sandbox_host="proxy").apns_endpoint("sandbox") == ("proxy", 443)
