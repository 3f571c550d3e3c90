"""Session fixtures: the embedded broker and PostgreSQL, started once and torn down after."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.embedded.broker import EmbeddedBroker, start_broker
from shared.embedded.postgres import EmbeddedPostgres, start_postgres


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    running = start_broker()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[EmbeddedPostgres]:
    running = start_postgres(prefix="herald-test-pg-")
    try:
        yield running
    finally:
        running.stop()
