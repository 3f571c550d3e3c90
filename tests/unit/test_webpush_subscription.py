"""What a Web Push token is: a PushSubscription as JSON, https, on an allowed push service."""

from __future__ import annotations

import json

import pytest

from contracts.push import WebPushSubscription, host_allowed

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
    assert parsed.host == "fcm.googleapis.com"


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

    assert host_allowed("FCM.googleapis.com", allowed)
    assert host_allowed("wns2-by3p.notify.windows.com", allowed)
    assert not host_allowed("notify.windows.com", allowed)
    assert not host_allowed("evil-notify.windows.com.attacker.net", allowed)
    assert not host_allowed("169.254.169.254", allowed)
