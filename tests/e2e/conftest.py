"""The whole stack as separate processes, started once for the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.devstack.stack import LocalStack, StackOptions
from tests.support.brokers import TEST_BROKER


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    running = LocalStack(
        StackOptions(
            prefer_default_ports=False,
            fast_group_membership=True,
            log_level="INFO",
            broker=TEST_BROKER,
        )
    )
    running.start()
    try:
        yield running
    finally:
        running.stop()
