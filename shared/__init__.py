"""Glue every Herald service shares: settings, Kafka, PostgreSQL, clock, logging, telemetry.

No business rules live here; those belong to each service's domain module.
"""
