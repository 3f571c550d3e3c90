"""Prometheus metrics every service shares: Kafka consumers and producers, consumer lag, HTTP.

Instruments live in the process-wide default registry, as prometheus-client intends: a process
is one scrape target. Each service defines its own domain instruments in its ``metrics.py``.
"""

from shared.metrics.exposition import expose_metrics
from shared.metrics.kafka import ConsumerMeter, count_produced
from shared.metrics.lag import LagMonitor

__all__ = ["ConsumerMeter", "LagMonitor", "count_produced", "expose_metrics"]
