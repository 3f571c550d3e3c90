"""The error taxonomy that drives control flow in consumers.

    Exception
     +-- TransientError      try again later; carries how long to wait (the broker, the database or
     |                       a provider is briefly unavailable). Never dead-lettered.
     +-- PermanentError      this input can never succeed; park it with the reason.

Exceptions of other types raised by a handler are retried a bounded number of times and then
treated as permanent for the message that caused them.
"""

from __future__ import annotations

import asyncpg
from aiokafka.errors import KafkaError


class TransientError(Exception):
    """Retry later, after ``retry_after`` seconds when the cause said how long."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class PermanentError(Exception):
    """The input is wrong for good; the reason is written for the person who sent it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: Failures of a dependency (network, database, broker) rather than of the input: retry them.
#: asyncpg's own: a lost or refused connection, a server shutting down (fast shutdown ends every
#: session with AdminShutdownError), and a connection left in a state the client cannot use.
RETRYABLE: tuple[type[Exception], ...] = (
    TransientError,
    OSError,
    KafkaError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)
