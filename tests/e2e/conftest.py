"""The whole stack as separate processes, started once for the end-to-end tests; when the last of
them is done with it, its logs are scanned for secrets before it stops (a leak errors the run)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.devstack.__main__ import with_operator_key
from services.devstack.stack import LocalStack, StackOptions
from shared.tenancy.auth import new_api_key
from tests.support.brokers import TEST_BROKER
from tests.support.log_scan import Needle, assert_no_leaks


@pytest.fixture(scope="session")
def learnt_secrets() -> list[Needle]:
    """Secrets tests were handed or made up that the stack keeps nowhere (refused tokens, device
    secrets): the log scan looks for these too."""
    return []


@pytest.fixture(scope="session")
def operator_key() -> str:
    """The stack's operator key, as ``make run`` makes and prints one."""
    return new_api_key()


@pytest.fixture(scope="session")
def stack(learnt_secrets: list[Needle], operator_key: str) -> Iterator[LocalStack]:
    options = StackOptions(
        prefer_default_ports=False,
        fast_group_membership=True,
        log_level="INFO",
        broker=TEST_BROKER,
    )
    running = LocalStack(with_operator_key(options, operator_key))
    running.start()
    try:
        yield running
        assert_no_leaks(running, [*learnt_secrets, Needle("the operator key", operator_key)])
    finally:
        running.stop()
