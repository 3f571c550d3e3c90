"""Web Push interop: Herald's encryption read by an independent RFC 8291 decryptor, which itself
reproduces the RFC's worked example, and by http_ece; and the VAPID header verified from
scratch."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import http_ece
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from services.dispatcher.platforms.webpush import encryption
from services.dispatcher.platforms.webpush.provider import encrypt
from services.dispatcher.platforms.webpush.vapid import VapidSigner, base64url
from shared.platforms.webpush.subscription import WebPushSubscription
from tests.support.clock import FrozenClock
from tests.support.ece import decrypt

pytestmark = pytest.mark.unit


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


#: RFC 8291 Appendix A.
RFC_UA_PRIVATE = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
RFC_AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
RFC_MESSAGE = (
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6Tlz"
    "AC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
)


def test_the_independent_decryptor_reproduces_rfc_8291_appendix_a() -> None:
    ua = ec.derive_private_key(int.from_bytes(unb64(RFC_UA_PRIVATE), "big"), ec.SECP256R1())

    plaintext = decrypt(unb64(RFC_MESSAGE), ua, unb64(RFC_AUTH))

    assert plaintext == b"When I grow up, I want to be a watermelon"


def test_herald_messages_decrypt_with_the_independent_implementation() -> None:
    browser = ec.generate_private_key(ec.SECP256R1())
    auth = b"0123456789abcdef"
    subscription = WebPushSubscription.model_validate(
        {
            "endpoint": "https://push.example/x",
            "keys": {
                "p256dh": base64url(
                    browser.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
                ),
                "auth": base64url(auth),
            },
        }
    )
    plaintext = json.dumps({"herald": {"herald_kind": "notification"}, "x": "é" * 100}).encode()

    body = encrypt(plaintext, subscription)

    assert decrypt(body, browser, auth) == plaintext
    assert http_ece.decrypt(body, private_key=browser, auth_secret=auth) == plaintext
    assert len(body) == 16 + 4 + 1 + 65 + len(plaintext) + 1 + 16


def test_each_message_has_its_own_sender_key_and_salt() -> None:
    browser = ec.generate_private_key(ec.SECP256R1())
    public = browser.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    auth = b"0123456789abcdef"

    first, second = (encryption.encrypt(b"same", public, auth) for _ in range(2))

    assert first[:16] != second[:16]
    assert first[21:86] != second[21:86]


def test_a_key_that_is_no_point_on_the_curve_is_refused() -> None:
    public = b"\x04" + b"\x01" * 64

    with pytest.raises(ValueError, match="Invalid EC key"):
        encryption.encrypt(b"x", public, b"0123456789abcdef")


def test_a_plaintext_that_fills_the_record_decrypts_and_one_byte_more_is_refused() -> None:
    browser = ec.generate_private_key(ec.SECP256R1())
    public = browser.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    auth = b"0123456789abcdef"
    full = b"x" * encryption.MAX_PLAINTEXT

    body = encryption.encrypt(full, public, auth)

    assert http_ece.decrypt(body, private_key=browser, auth_secret=auth) == full
    with pytest.raises(encryption.RecordTooLarge, match=f"one record holds {len(full)}"):
        encryption.encrypt(full + b"x", public, auth)


def test_the_vapid_header_verifies_with_its_own_public_key() -> None:
    clock = FrozenClock()
    signer = VapidSigner(
        ec.generate_private_key(ec.SECP256R1()), "mailto:a@b.c", clock, timedelta(hours=12)
    )

    header = signer.header("https://push.example")

    scheme, params = header.split(" ", 1)
    values = dict(part.strip().split("=", 1) for part in params.split(","))
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(values["k"]))
    claims = jwt.decode(
        values["t"],
        key,
        algorithms=["ES256"],
        audience="https://push.example",
        options={"verify_exp": False},
    )
    assert scheme == "vapid"
    assert claims == {
        "aud": "https://push.example",
        "exp": int((clock.now() + timedelta(hours=12)).timestamp()),
        "sub": "mailto:a@b.c",
    }
