"""The only module that talks to webhook endpoints: POST over https, never to Herald's own network.

Every connection resolves the endpoint's name itself and checks each address it got against the
guard (shared/platforms/endpoints.py) before connecting to one of those very addresses, so a name
that resolves, or later re-resolves, to a private address is refused. TLS still verifies the name.
Redirects are not followed; each POST is bounded by the timeout.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpcore

from shared.platforms.endpoints import IpNetwork, address_problem

#: Enough of a refusal's body to say why in a dead letter.
KEPT_BODY_BYTES = 500


class RefusedAddress(Exception):
    """The endpoint's name resolves to an address Herald does not call."""


class SendFailed(Exception):
    """No answer came: the connection failed, or the endpoint did not answer in time."""


@dataclass(frozen=True)
class Reply:
    status: int
    retry_after: str | None
    text: str


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to public addresses (or the networks an operator allowed)."""

    def __init__(self, allowed: Iterable[IpNetwork]) -> None:
        self._allowed = tuple(allowed)
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError as error:
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
        addresses = list(
            dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found)
        )
        for address in addresses:
            problem = address_problem(address, self._allowed)
            if problem is not None:
                raise RefusedAddress(f"not connecting to {host}: {problem}")
        failure: Exception = httpcore.ConnectError(f"{host} resolves to no address")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as error:
                failure = error
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedAddress("webhooks are never sent to a local socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class WebhookSender:
    """POSTs to endpoints over one connection pool."""

    def __init__(
        self,
        allowed: Iterable[IpNetwork],
        *,
        timeout: float,
        max_connections: int,
        ca_bundle: Path | None = None,
    ) -> None:
        context = ssl.create_default_context(cafile=None if ca_bundle is None else str(ca_bundle))
        self._timeout = timeout
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=max_connections,
            network_backend=GuardedBackend(allowed),
        )

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """The endpoint's answer; RefusedAddress or SendFailed when there is none."""
        limit = {"connect": self._timeout, "read": self._timeout, "write": self._timeout}
        try:
            async with asyncio.timeout(self._timeout):
                async with self._pool.stream(
                    "POST",
                    url,
                    headers=list(headers.items()),
                    content=body,
                    extensions={"timeout": limit | {"pool": self._timeout}},
                ) as response:
                    kept = b""
                    async for chunk in response.aiter_stream():
                        kept += chunk
                        if len(kept) >= KEPT_BODY_BYTES:
                            break
        except TimeoutError:
            raise SendFailed(f"no answer within {self._timeout:g}s") from None
        except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError) as error:
            raise SendFailed(f"{type(error).__name__}: {error}") from None
        retry_after = next(
            (v.decode() for k, v in response.headers if k.lower() == b"retry-after"), None
        )
        return Reply(response.status, retry_after, kept[:KEPT_BODY_BYTES].decode(errors="replace"))

    async def close(self) -> None:
        await self._pool.aclose()
