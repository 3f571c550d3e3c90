"""The native key hash puts every key on the partition Kafka's Java client and aiokafka choose."""

from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import DefaultPartitioner

from shared.kafka.partitioning import partition_for

COUNTS = (1, 3, 8, 12, 16, 100, 999)

#: Partitions for each count of COUNTS, from Kafka 4.1.1's Java client
#: (``BuiltInPartitioner.partitionForKey`` of the key's UTF-8 bytes).
JAVA_CLIENT = {
    "": (0, 0, 1, 9, 9, 81, 603),
    "a": (0, 1, 4, 4, 12, 24, 211),
    "ab": (0, 2, 2, 2, 10, 34, 905),
    "abc": (0, 0, 3, 3, 11, 7, 57),
    "abcd": (0, 2, 4, 8, 4, 0, 758),
    "123456789": (0, 0, 6, 6, 6, 66, 138),
    "\u2318": (0, 2, 1, 5, 1, 25, 380),
    "user-42": (0, 1, 4, 4, 12, 60, 565),
    "9b2f6a1e-3c44-4f0e-8a51-6d7e2c1b0f93": (0, 0, 5, 9, 5, 61, 537),
    "c03a3475-3ed6-4ed1-8ae5-1c432da43e73": (0, 2, 3, 11, 11, 67, 14),
    "\u00e9t\u00e9 \U0001f514": (0, 0, 6, 6, 6, 6, 342),
}


@pytest.mark.parametrize(("key", "expected"), JAVA_CLIENT.items())
def test_keys_land_where_the_java_client_puts_them(key: str, expected: tuple[int, ...]) -> None:
    found = tuple(partition_for(key.encode(), range(count), range(count)) for count in COUNTS)
    assert found == expected


def test_random_keys_land_where_aiokafka_puts_them() -> None:
    chooser = random.Random(19)
    default = DefaultPartitioner()
    for _ in range(2000):
        key = chooser.randbytes(chooser.randrange(0, 80))
        partitions = list(range(chooser.choice((1, 2, 8, 16, 64, 1000))))
        assert partition_for(key, partitions, partitions) == default(key, partitions, partitions)


def test_a_record_without_key_goes_to_an_available_partition() -> None:
    assert {partition_for(None, [0, 1, 2, 3], [2]) for _ in range(20)} == {2}
