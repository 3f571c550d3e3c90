"""Outages on demand: take a test's own broker away and bring it back on the same ports.

Works for either kind of local broker, so a test of what Herald does during an outage runs
unchanged on the embedded broker and on Apache Kafka.
"""

from __future__ import annotations

from shared.embedded.broker import EmbeddedBroker
from shared.embedded.brokers import LocalBroker
from shared.embedded.kafka import KafkaCluster


def halt_broker(broker: LocalBroker) -> None:
    """SIGKILL every broker process, as a crash would (Kafka's log stays on disk)."""
    if isinstance(broker, KafkaCluster):
        for node in broker.nodes:
            broker.kill(node.node_id)
    elif isinstance(broker, EmbeddedBroker):
        if broker.process is not None:
            broker.process.kill()
            broker.process.wait()
            broker.process = None
    else:
        raise TypeError(f"cannot halt a {type(broker).__name__}")


def resume_broker(broker: LocalBroker) -> None:
    """Start the halted broker again on the same ports; returns once it takes connections.

    Kafka nodes restart one after another, each waited for: right for a single node, not for a
    cluster that lost its whole quorum (a lone node would wait for voters that are not back yet).
    """
    if isinstance(broker, KafkaCluster):
        for node in broker.nodes:
            broker.restart(node.node_id)
    elif isinstance(broker, EmbeddedBroker):
        broker.start()
    else:
        raise TypeError(f"cannot resume a {type(broker).__name__}")
