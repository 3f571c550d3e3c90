"""Create the catalog's topics with their partition counts before anything produces to them.

Brokers that auto-create topics pick their own partition count, which breaks per-key ordering
assumptions, so Herald never relies on auto-creation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from contracts.topics import Topic

log = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS = 36


class TopicCreationError(RuntimeError):
    """The broker refused to create a topic for a reason other than it existing already."""


async def ensure_topics(
    bootstrap: str, topics: Iterable[Topic], *, prefix: str = "", replication: int = 1
) -> list[str]:
    """Create every topic that does not exist yet; return the names created."""
    wanted = [NewTopic(f"{prefix}{t.name}", t.partitions, replication) for t in topics]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="herald-admin")
    await admin.start()
    try:
        response = await admin.create_topics(wanted)
    finally:
        await admin.close()
    created = []
    for name, code, message in (error[:3] for error in response.topic_errors):
        if code == 0:
            created.append(name)
        elif code != TOPIC_ALREADY_EXISTS:
            raise TopicCreationError(f"cannot create topic {name}: error {code} {message}")
    log.info("topics ready: %d created, %d existed", len(created), len(wanted) - len(created))
    return created
