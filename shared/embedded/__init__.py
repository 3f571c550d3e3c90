"""The embedded defaults: a Kafka-protocol broker and PostgreSQL started from installed wheels.

``make run`` and the test session use these so nothing has to be installed system-wide; real
deployments point the settings at Apache Kafka and a PostgreSQL server instead.
"""
