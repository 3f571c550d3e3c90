"""Where Herald may send a request because a tenant said so: a Web Push subscription's endpoint,
a webhook URL. None of them may aim Herald at its own network: loopback, private, link-local,
shared, reserved or multicast addresses are refused unless an operator names them (a local
emulator, a test's receiver). Pure: the caller resolves names and checks each address it got.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from pydantic import AnyUrl, Field, IPvAnyNetwork

from shared.platforms.base import PlatformSettings

HTTPS_PORT = 443
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Names that resolve to the machine itself without asking DNS (RFC 6761).
_LOCAL_NAMES = ("localhost", ".localhost")


def ip_literal(host: str) -> IpAddress | None:
    """The address ``host`` spells (``[v6]`` too), or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def address_problem(address: IpAddress, allowed: Iterable[IpNetwork] = ()) -> str | None:
    """Why Herald may not connect to ``address``, or None: it must be a public unicast address,
    unless it lies in one of the ``allowed`` networks. An IPv4-mapped IPv6 address is judged as
    the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in allowed):
        return None
    for kind, applies in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("private", address.is_private),
        ("reserved", address.is_reserved or not address.is_global),
    ):
        if applies:
            return f"{address} is not a public address ({kind})"
    return None


def webhook_url_problem(url: AnyUrl, allowed: Iterable[IpNetwork] = ()) -> str | None:
    """Why Herald may not POST to ``url``, or None: https, no user info, and not a name or
    address of Herald's own network (a name is checked again, resolved, at every connection)."""
    if url.scheme != "https":
        return "the URL must be https"
    if url.username or url.password:
        return "the URL may not carry user info (user:password@)"
    host = (url.host or "").lower().rstrip(".")
    if not host:
        return "the URL has no host"
    if host == _LOCAL_NAMES[0] or host.endswith(_LOCAL_NAMES[1]):
        return f"{host} names this machine, not a public endpoint"
    address = ip_literal(host)
    return None if address is None else address_problem(address, allowed)


class WebhookAddressSettings(PlatformSettings):
    """Networks webhooks may reach though they are not public: none in a deployment; the local
    stack and its tests name 127.0.0.1 so a receiver on the machine can be tried. The registry
    checks URLs against it at registration, the webhooks service every address it connects to."""

    webhook_allowed_networks: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description='JSON list of networks a webhook may reach though not public ("127.0.0.1/32"'
        " for a receiver on this machine); empty in a deployment.",
    )
