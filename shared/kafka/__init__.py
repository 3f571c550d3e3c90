"""Kafka glue: client options (TLS, SASL), a broker factory, topic creation and planning,
publishing, commit-after-effects consumers, and a group-less follower of whole topics."""

from shared.kafka.bus import Bus, Publisher, create_bus
from shared.kafka.consumer import Received, Rejection, subscribe

__all__ = ["Bus", "Publisher", "Received", "Rejection", "create_bus", "subscribe"]
