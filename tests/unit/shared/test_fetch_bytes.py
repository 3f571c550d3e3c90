"""A consumer's read-ahead is one budget for all its topic's partitions, not a budget for each."""

from __future__ import annotations

import pytest

from contracts import topics
from shared.kafka.clients import MIN_FETCH_BYTES, fetch_bytes
from shared.settings import KafkaSettings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("partitions", [1, 3, 8, 64])
def test_every_partition_holding_a_full_fetch_stays_within_the_budget(partitions: int) -> None:
    budget = KafkaSettings().consumer_fetch_max_bytes
    assert fetch_bytes(budget, partitions) * partitions <= budget


def test_the_push_topics_share_the_default_budget() -> None:
    budget = KafkaSettings().consumer_fetch_max_bytes
    for topic in topics.PUSH.values():
        assert fetch_bytes(budget, topic.partitions) * topic.partitions <= budget


def test_a_small_budget_still_fetches_a_useful_amount() -> None:
    assert fetch_bytes(1024, 8) == MIN_FETCH_BYTES
