"""The broker this test session runs on: ``HERALD_TEST_BROKER=embedded`` (default) or ``kafka``."""

from __future__ import annotations

import os

from shared.embedded.brokers import BrokerKind, broker_kind

TEST_BROKER: BrokerKind = broker_kind(os.environ.get("HERALD_TEST_BROKER", "embedded"))
ON_KAFKA = TEST_BROKER == "kafka"
