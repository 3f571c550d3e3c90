"""The local stack: broker, database, every service and the provider emulators on one machine.

``make run`` uses it for people; the end-to-end tests use it to run the real processes.
"""
