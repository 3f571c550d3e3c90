"""Scheduler settings (environment, prefix ``HERALD_``)."""

from shared.settings import HttpSettings, KafkaSettings, ObservabilitySettings


class SchedulerSettings(KafkaSettings, HttpSettings, ObservabilitySettings):
    """Broker, health endpoint and logging; the scheduler keeps no tables yet."""

    http_port: int = 8083
