"""A throwaway certificate authority for the local emulators, made at run time, never committed.

The APNs and Web Push emulators serve TLS on the loopback address with a certificate from this CA;
dispatchers trust the CA's bundle (their ``*_CA_BUNDLE`` setting). Client certificates for APNs
certificate authentication come from the same CA.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LIFETIME = datetime.timedelta(days=7)
LOOPBACK_NAMES = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class CertificateFiles:
    """A certificate and its private key as PEM files; ``combined`` holds both (for clients)."""

    cert: Path
    key: Path
    combined: Path


@dataclass(frozen=True)
class LocalCa:
    """The CA's certificate (the bundle to trust) and its signing key."""

    cert_path: Path
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def issue_server(self, folder: Path, name: str = "server") -> CertificateFiles:
        """A server certificate for 127.0.0.1 and localhost."""
        sans: list[x509.GeneralName] = [
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.DNSName("localhost"),
        ]
        return self._issue(folder, name, "localhost", sans, ExtendedKeyUsageOID.SERVER_AUTH)

    def issue_client(self, folder: Path, name: str, uid: str) -> CertificateFiles:
        """A client certificate whose subject UID names what it may push to (an APNs topic)."""
        return self._issue(folder, name, uid, [], ExtendedKeyUsageOID.CLIENT_AUTH, uid=uid)

    def _issue(
        self,
        folder: Path,
        name: str,
        common_name: str,
        sans: list[x509.GeneralName],
        usage: x509.ObjectIdentifier,
        uid: str | None = None,
    ) -> CertificateFiles:
        key = ec.generate_private_key(ec.SECP256R1())
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        if uid is not None:
            attributes.append(x509.NameAttribute(NameOID.USER_ID, uid))
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attributes))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + LIFETIME)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        key_pem = _private_pem(key)
        files = CertificateFiles(
            folder / f"{name}.crt", folder / f"{name}.key", folder / f"{name}.pem"
        )
        _write(files.cert, cert_pem)
        _write(files.key, key_pem)
        _write(files.combined, cert_pem + key_pem)
        return files


def create_ca(folder: Path, name: str = "herald-local-ca") -> LocalCa:
    """A new CA whose certificate is written to ``folder/<name>.crt``."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Herald local emulators CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    path = folder / f"{name}.crt"
    _write(path, cert.public_bytes(serialization.Encoding.PEM))
    return LocalCa(path, cert, key)


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes) -> None:
    """Write ``data`` readable by its owner only (private keys live next to certificates)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
