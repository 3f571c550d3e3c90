"""RFC 8291 message encryption (aes128gcm, RFC 8188) on ``cryptography``'s primitives.

http_ece does the same in general form (every RFC 8188 version, many records, decryption), and
under load its key schedule cost a Web Push dispatcher ~15 µs of CPU per push on top of the key
agreement (HKDF objects and a backend lookup per derivation, a cipher context per record). A push
here is one record of at most 3993 bytes of plaintext, so the schedule is three HMAC-SHA-256
calls and one AES-GCM seal. The sender key is fresh for every message, as RFC 8291 requires.
tests/support/ece.py decrypts it independently, and reproduces the RFC's own worked example.
"""

from __future__ import annotations

import hmac
import os
import struct

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

#: RFC 8188's record size field: one record holds the whole message (the renderer keeps the
#: plaintext within 3993 bytes, RFC 8291 section 4).
RECORD_SIZE = 4096
_CURVE = ec.SECP256R1()
_KEY_INFO = b"Content-Encoding: aes128gcm\x00\x01"
_NONCE_INFO = b"Content-Encoding: nonce\x00\x01"
#: The padding delimiter of the last (here the only) record.
_LAST_RECORD = b"\x02"
#: The most plaintext one record holds: the record size less the delimiter and AES-GCM's tag.
MAX_PLAINTEXT = RECORD_SIZE - len(_LAST_RECORD) - 16


class RecordTooLarge(Exception):
    """The plaintext does not fit the one record this encryption writes (no ValueError: that
    would read as an unusable subscription key and deactivate the device)."""


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def encrypt(plaintext: bytes, receiver_key: bytes, auth_secret: bytes) -> bytes:
    """``plaintext`` for the user agent whose public key (65-byte uncompressed P-256 point) and
    authentication secret are given, as one aes128gcm record with its header. Raises ValueError
    when ``receiver_key`` is no point on the curve."""
    if len(plaintext) > MAX_PLAINTEXT:
        raise RecordTooLarge(
            f"{len(plaintext)} bytes of plaintext; one record holds {MAX_PLAINTEXT}"
        )
    receiver = ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, receiver_key)
    sender = ec.generate_private_key(_CURVE)
    shared = sender.exchange(ec.ECDH(), receiver)
    sender_key = sender.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    # RFC 8291 section 3.4: IKM = HKDF(auth_secret, ecdh_secret, "WebPush: info" || 0x00 ||
    # ua_public || as_public, 32); HKDF's expand is one HMAC block for up to 32 bytes.
    key_info = b"WebPush: info\x00" + receiver_key + sender_key + b"\x01"
    ikm = _hmac(_hmac(auth_secret, shared), key_info)
    salt = os.urandom(16)
    prk = _hmac(salt, ikm)
    content_key = _hmac(prk, _KEY_INFO)[:16]
    nonce = _hmac(prk, _NONCE_INFO)[:12]
    record = AESGCM(content_key).encrypt(nonce, plaintext + _LAST_RECORD, None)
    header = salt + struct.pack("!IB", RECORD_SIZE, len(sender_key)) + sender_key
    return header + record
