"""Kafka glue: a broker factory, topic creation, publishing and commit-after-effects consumers."""

from shared.kafka.bus import Bus, Publisher, create_bus
from shared.kafka.consumer import Received, Rejection, subscribe

__all__ = ["Bus", "Publisher", "Received", "Rejection", "create_bus", "subscribe"]
