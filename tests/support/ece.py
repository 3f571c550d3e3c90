"""An RFC 8291 decryptor written from the RFC with ``cryptography`` primitives only.

Herald encrypts with its own code (services/dispatcher/platforms/webpush/encryption.py); tests
decrypt with this implementation, written apart from it and checked against the RFC's own example
in Appendix A, and with http_ece (as the Web Push emulator does) to show they agree on the wire.
"""

from __future__ import annotations

import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def decrypt(body: bytes, ua_private: ec.EllipticCurvePrivateKey, auth_secret: bytes) -> bytes:
    """The plaintext of one aes128gcm Web Push message (RFC 8188 header, RFC 8291 keys)."""
    salt, record_size, id_length = body[:16], *struct.unpack("!IB", body[16:21])
    as_public_bytes = body[21 : 21 + id_length]
    ciphertext = body[21 + id_length :]
    if id_length != 65 or len(ciphertext) > record_size:
        raise ValueError("expected one record with a 65-byte sender key as the key id")
    as_public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), as_public_bytes)
    ua_public = ua_private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    shared = ua_private.exchange(ec.ECDH(), as_public)
    ikm = _hkdf(auth_secret, shared, b"WebPush: info\x00" + ua_public + as_public_bytes, 32)
    cek = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
    nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
    padded = AESGCM(cek).decrypt(nonce, ciphertext, None)
    content = padded.rstrip(b"\x00")
    if not content.endswith(b"\x02"):
        raise ValueError("the last record's padding delimiter is not 0x02")
    return content[:-1]
