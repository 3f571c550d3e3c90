"""Webhooks never reach Herald's own network: not by an address in the URL, nor by a name that
resolves to one at send time, unless an operator allowed the network."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import AnyUrl

from services.registry.apps.domain import AdminError, checked_webhook_url
from services.webhooks.sender import GuardedBackend, RefusedAddress
from shared.platforms.endpoints import webhook_url_problem

pytestmark = pytest.mark.unit

LOOPBACK = ipaddress.ip_network("127.0.0.1/32")


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.0.0.7/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "https://localhost/hook",
        "https://api.localhost/hook",
        "http://hooks.example.com/hook",
        "https://user:pw@hooks.example.com/hook",
    ],
)
def test_registration_refuses_urls_that_are_not_public_https(url: str) -> None:
    with pytest.raises(AdminError, match="url: "):
        checked_webhook_url(url)


def test_public_urls_pass_and_an_allowed_network_is_reachable() -> None:
    assert checked_webhook_url("https://hooks.example.com/herald?x=1") == (
        "https://hooks.example.com/herald?x=1"
    )
    assert webhook_url_problem(AnyUrl("https://8.8.8.8/hook")) is None
    assert webhook_url_problem(AnyUrl("https://127.0.0.1:8443/hook"), [LOOPBACK]) is None
    assert webhook_url_problem(AnyUrl("https://127.0.0.2/hook"), [LOOPBACK]) is not None


async def test_a_name_resolving_to_a_private_address_is_refused_before_connecting() -> None:
    with pytest.raises(RefusedAddress, match="loopback"):
        await GuardedBackend([]).connect_tcp("localhost", 443)
    with pytest.raises(RefusedAddress, match="private"):
        await GuardedBackend([LOOPBACK]).connect_tcp("10.1.2.3", 443)
