"""Free loopback ports and waiting for a listener to appear."""

from __future__ import annotations

import random
import socket
import time

#: Ports handed out for local servers lie below Linux's ephemeral range (32768-60999), so the
#: outgoing connections of a busy machine (a Kafka node opens many) never take one between the
#: moment it is chosen and the moment its server binds it.
LOCAL_PORTS = range(20_000, 32_000)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, chosen at random from
    ``LOCAL_PORTS`` so that two test sessions rarely pick the same one."""
    for _ in range(200):
        port = random.choice(LOCAL_PORTS)  # noqa: S311 - spreading ports, not a secret
        if port_is_free(port):
            return port
    raise OSError("no free port on 127.0.0.1 in the local range after 200 tries")


def port_is_free(port: int) -> bool:
    """True when 127.0.0.1:port can be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for_port(port: int, *, timeout: float = 10.0) -> None:
    """Block until something accepts connections on 127.0.0.1:port, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"nothing listens on 127.0.0.1:{port} after {timeout}s"
                ) from None
            time.sleep(0.05)
