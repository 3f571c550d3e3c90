"""Which partition a keyed record goes to: Kafka's own rule, with the key hashed natively.

aiokafka's default partitioner computes murmur2 in pure Python, about 4 us a key, 3-4% of the
registry's CPU in a pipeline profile; murmurhash2 (Rust) gives the same hash in about 0.15 us.
The partitions must stay exactly those Kafka's Java client and aiokafka's default choose, or one
key's records would split across partitions between producers: tests/unit/shared/
test_partitioning.py holds both to it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from murmurhash2 import murmurhash2

#: The seed Kafka's Java client (and every client compatible with it) hashes keys with.
KAFKA_MURMUR2_SEED = 0x9747B28C


def partition_for(
    key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]
) -> int:
    """The partition of ``key`` among ``all_partitions`` (sorted ids), as Kafka's Java client
    picks it; a record without a key goes to any available partition, as aiokafka's default."""
    if key is None:
        return random.choice(available or all_partitions)  # noqa: S311 - spreading, not security
    return all_partitions[(murmurhash2(key, KAFKA_MURMUR2_SEED) & 0x7FFFFFFF) % len(all_partitions)]
