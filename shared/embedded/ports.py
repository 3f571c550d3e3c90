"""Free loopback ports and waiting for a listener to appear."""

from __future__ import annotations

import random
import socket
import threading
import time

#: Ports handed out for local servers lie below Linux's ephemeral range (32768-60999), so the
#: outgoing connections of a busy machine (a Kafka node opens many) never take one between the
#: moment it is chosen and the moment its server binds it.
LOCAL_PORTS = range(20_000, 32_000)

#: Every port this process has handed out. A port is free when chosen but bound only later (by a
#: server starting, a Kafka node booting), so without this two callers in that window could both
#: get it: `tls_port, http_port = free_port(), free_port()` did, once in a CI run.
_handed_out: set[int] = set()
_handing_out = threading.Lock()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now and that this process has not
    handed out before, chosen at random from ``LOCAL_PORTS`` so that two test sessions rarely pick
    the same one."""
    with _handing_out:
        for _ in range(200):
            port = random.choice(LOCAL_PORTS)  # noqa: S311 - spreading ports, not a secret
            if port not in _handed_out and port_is_free(port):
                _handed_out.add(port)
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
