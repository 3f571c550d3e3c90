"""The whole stack as separate processes, started once for the end-to-end tests; when the last of
them is done with it, its logs are scanned for secrets before it stops (a leak errors the run)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.devstack.stack import LocalStack, StackOptions
from tests.support.brokers import TEST_BROKER
from tests.support.log_scan import Needle, assert_no_leaks


@pytest.fixture(scope="session")
def learnt_secrets() -> list[Needle]:
    """Secrets tests were handed or made up that the stack keeps nowhere (refused tokens, device
    secrets): the log scan looks for these too."""
    return []


@pytest.fixture(scope="session")
def stack(learnt_secrets: list[Needle]) -> Iterator[LocalStack]:
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
        assert_no_leaks(running, learnt_secrets)
    finally:
        running.stop()
