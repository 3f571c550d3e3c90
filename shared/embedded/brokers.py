"""Which broker a local run or a test session uses: the embedded one, or Apache Kafka.

Both answer to the same small protocol, so a suite or the local stack runs unchanged on either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol, get_args

BrokerKind = Literal["embedded", "kafka"]
BROKER_KINDS: tuple[str, ...] = get_args(BrokerKind)


class LocalBroker(Protocol):
    """A broker process (or cluster) this machine started."""

    @property
    def kind(self) -> str: ...

    @property
    def bootstrap(self) -> str: ...

    def pids(self) -> list[int]:
        """The running processes (one per Kafka node), for CPU and memory accounting."""
        ...

    def log_paths(self) -> list[Path]:
        """Where the broker writes its log (a file per Kafka node)."""
        ...

    def stop(self) -> None: ...


def broker_kind(value: str) -> BrokerKind:
    """Check a broker name from the command line or the environment."""
    if value == "embedded":
        return "embedded"
    if value == "kafka":
        return "kafka"
    raise ValueError(f"broker must be one of {', '.join(BROKER_KINDS)}, not {value!r}")


def start_local_broker(
    kind: BrokerKind, *, port: int | None = None, folder: Path | None = None
) -> LocalBroker:
    """Start one broker of ``kind``; ``folder`` holds its log (and Kafka's data)."""
    if kind == "kafka":
        from shared.embedded.kafka import start_kafka

        return start_kafka(1, root=folder / "kafka" if folder else None)
    from shared.embedded.broker import start_broker

    return start_broker(port, log_path=folder / "broker.log" if folder else None)
