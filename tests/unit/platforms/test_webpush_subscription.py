"""What a Web Push token is: a PushSubscription as JSON, https, on an allowed push service."""

from __future__ import annotations

import base64
import json

import pytest
from pydantic import AnyUrl

from shared.platforms.base import TokenFormatError
from shared.platforms.webpush.rules import canonical_token
from shared.platforms.webpush.subscription import (
    DEFAULT_WEBPUSH_HOSTS,
    WebPushSubscription,
    endpoint_problem,
)

pytestmark = pytest.mark.unit

P256DH = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
AUTH = "BTBZMqHH6r4Tts7J_aSIgg"


def token(**changes: object) -> str:
    value: dict[str, object] = {
        "endpoint": "https://fcm.googleapis.com/fcm/send/abc",
        "expirationTime": None,
        "keys": {"p256dh": P256DH, "auth": AUTH},
    }
    value.update(changes)
    return json.dumps(value, indent=2)


def test_a_browser_subscription_becomes_one_canonical_token() -> None:
    parsed = WebPushSubscription.from_token(token())
    padded = WebPushSubscription.from_token(token(keys={"p256dh": P256DH, "auth": AUTH + "=="}))

    assert parsed.token() == padded.token()
    assert json.loads(parsed.token()) == {
        "endpoint": "https://fcm.googleapis.com/fcm/send/abc",
        "keys": {"p256dh": P256DH, "auth": AUTH},
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"endpoint": "http://fcm.googleapis.com/x"}, "URL scheme should be 'https'"),
        ({"keys": {"p256dh": P256DH}}, "keys.auth: Field required"),
        ({"keys": {"p256dh": "AAAA", "auth": AUTH}}, "uncompressed P-256 point"),
        ({"keys": {"p256dh": P256DH, "auth": "AAAA"}}, "16-byte secret"),
    ],
)
def test_a_broken_subscription_is_refused_with_the_reason(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        WebPushSubscription.from_token(token(**changes))


def test_hosts_match_exactly_or_as_subdomains_of_a_wildcard() -> None:
    allowed = ["fcm.googleapis.com", "*.notify.windows.com"]

    def ok(url: str) -> bool:
        return endpoint_problem(AnyUrl(url), allowed) is None

    assert ok("https://FCM.googleapis.com/x")
    assert ok("https://wns2-by3p.notify.windows.com/w/?token=1")
    assert not ok("https://notify.windows.com/x")
    assert not ok("https://evil-notify.windows.com.attacker.net/x")


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("https://fcm.googleapis.com:8443/x", "allowed on port 443 only, not 8443"),
        ("https://user:pw@fcm.googleapis.com/x", "may not carry user info"),
        ("https://169.254.169.254/latest", "is an IP address"),
        ("https://167772161/x", "10.0.0.1 is an IP address"),
        ("https://[::1]/x", "[::1] is an IP address"),
        ("https://127.0.0.1:9443/x", "allowed on port 8443 only, not 9443"),
        ("https://push.internal/x", "push.internal is not an allowed Web Push host"),
    ],
)
def test_endpoints_off_the_allowed_hosts_and_ports_are_refused(endpoint: str, message: str) -> None:
    allowed = [*DEFAULT_WEBPUSH_HOSTS, "127.0.0.1:8443"]

    assert message in (endpoint_problem(AnyUrl(endpoint), allowed) or "")


def test_an_operator_allows_a_local_emulator_by_address_and_port() -> None:
    allowed = [*DEFAULT_WEBPUSH_HOSTS, "127.0.0.1:8443", "[::1]:8443"]

    assert endpoint_problem(AnyUrl("https://127.0.0.1:8443/push/1"), allowed) is None
    assert endpoint_problem(AnyUrl("https://[::1]:8443/push/1"), allowed) is None


def test_a_key_that_is_not_a_point_on_p256_is_refused_at_registration() -> None:
    raw = bytearray(base64.urlsafe_b64decode(P256DH + "=="))
    raw[-1] ^= 1
    off_curve = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")

    def compact(value: str) -> str:
        return json.dumps(json.loads(value))

    assert canonical_token(compact(token()), DEFAULT_WEBPUSH_HOSTS)
    bad = compact(token(keys={"p256dh": off_curve, "auth": AUTH}))
    with pytest.raises(TokenFormatError, match="not a point on the P-256 curve"):
        canonical_token(bad, DEFAULT_WEBPUSH_HOSTS)
