"""One delivery step: attempt a push once and decide what follows — a final result, or a retry.

It knows no provider: a platform's Provider turns one attempt into a verdict. A push that must be
tried again is never waited for here; it comes back as a retry request (attempt count, not-before
time) for the retry topic, so a waiting push never holds up the ones behind it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts.push import Outcome, PushRequest, PushResult
from services.dispatcher import domain
from services.dispatcher.domain import (
    Delivered,
    Halt,
    Reauthenticate,
    Rejected,
    RetryLater,
    RetryPolicy,
)
from services.dispatcher.platforms.base import Provider
from shared.clock import Clock
from shared.errors import TransientError
from shared.logs import token_ref

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Done:
    """The push's final result; ``dead_letter`` is set when it also belongs in the dead letters."""

    result: PushResult
    dead_letter: str | None = None


@dataclass(frozen=True)
class Again:
    """Try again later: the same push with its attempt count and the time it may go again."""

    request: PushRequest


Step = Done | Again


class Deliverer:
    """Takes one push request one attempt further; at most ``max_in_flight`` attempts at once.

    The cap is the dispatcher's bulkhead: it is shared by everything that sends through this
    deployment's provider connection, first tries and retries alike.
    """

    def __init__(
        self,
        provider: Provider,
        clock: Clock,
        policy: RetryPolicy,
        *,
        max_in_flight: int = 64,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.provider = provider
        self.clock = clock
        self.policy = policy
        self.jitter = jitter
        self.max_in_flight = max_in_flight
        self._slots = asyncio.Semaphore(max_in_flight)

    async def step(self, request: PushRequest) -> Step:
        """What became of one attempt; raises TransientError when the deployment must halt."""
        ref = token_ref(request.token)
        now = self.clock.now()
        if domain.expired_before_sending(request, now):
            log.info("push %s to %s expired before sending", request.event_id, ref)
            return Done(
                domain.result(
                    request,
                    now,
                    outcome="expired",
                    attempts=request.attempt,
                    reason="TTL ran out before sending",
                )
            )
        attempts = request.attempt
        reauthenticated = False
        while True:
            attempts += 1
            async with self._slots:
                verdict = await self.provider.attempt(request, now)
            now = self.clock.now()
            if isinstance(verdict, Delivered):
                log.debug("push %s delivered to %s", request.event_id, ref)
                return Done(
                    domain.result(
                        request,
                        now,
                        outcome="delivered",
                        attempts=attempts,
                        status=verdict.status,
                        message_id=verdict.message_id,
                    )
                )
            reason = verdict.reason.replace(request.token, ref)
            if isinstance(verdict, Rejected):
                log.info("push %s to %s: %s (%s)", request.event_id, ref, verdict.outcome, reason)
                result = domain.result(
                    request,
                    now,
                    outcome=verdict.outcome,
                    attempts=attempts,
                    reason=reason,
                    status=verdict.status,
                    invalid_since=verdict.invalid_since,
                )
                return Done(result, reason if verdict.outcome == "failed" else None)
            if isinstance(verdict, Halt) or (
                isinstance(verdict, Reauthenticate) and reauthenticated
            ):
                log.error("halting: %s", reason)
                raise TransientError(f"provider refuses this deployment: {reason}")
            if isinstance(verdict, Reauthenticate):
                reauthenticated = True
                continue
            return self._after_passing_failure(request, verdict, attempts, reason, now)

    def _after_passing_failure(
        self, request: PushRequest, verdict: RetryLater, attempts: int, reason: str, now: datetime
    ) -> Step:
        """A retry, or the final result when the push may not be retried any more.

        A provider that answered errors every time fails this push; one that never answered at
        all is an outage of the deployment, so the batch halts and is delivered again later.
        """
        ref = token_ref(request.token)
        if attempts >= self.policy.max_attempts:
            if verdict.status is None:
                log.error("halting: provider unreachable after %d attempts: %s", attempts, reason)
                raise TransientError(f"provider unreachable after {attempts} attempts: {reason}")
            failed = f"gave up after {attempts} attempts: {reason}"
            return Done(self._final(request, now, "failed", attempts, failed, verdict), failed)
        if verdict.wait_at_least > self.policy.max_wait:
            failed = f"provider asks to wait {verdict.wait_at_least:.0f}s: {reason}"
            return Done(self._final(request, now, "failed", attempts, failed, verdict), failed)
        delay = self.policy.delay(
            attempts, wait_at_least=verdict.wait_at_least, jitter=self.jitter()
        )
        if domain.retry_would_expire(request, now, delay):
            expired = f"TTL runs out before a retry: {reason}"
            return Done(self._final(request, now, "expired", attempts, expired, verdict))
        log.info("push %s to %s: %s; retrying in %.1fs", request.event_id, ref, reason, delay)
        not_before = now + timedelta(seconds=delay)
        return Again(request.model_copy(update={"attempt": attempts, "not_before": not_before}))

    @staticmethod
    def _final(
        request: PushRequest,
        now: datetime,
        outcome: Outcome,
        attempts: int,
        reason: str,
        verdict: RetryLater,
    ) -> PushResult:
        return domain.result(
            request, now, outcome=outcome, attempts=attempts, reason=reason, status=verdict.status
        )


async def step_all(
    deliverer: Deliverer,
    requests: Sequence[PushRequest],
    *,
    before: Callable[[PushRequest], Awaitable[None]] | None = None,
) -> list[Step]:
    """Steps of ``requests`` in their order; the deliverer's cap bounds what is in flight.

    Workers, not one task per push: at most as many as the cap, whatever the batch size. Each
    worker awaits ``before(request)`` first (a retry waiting for its time).
    """
    steps: list[Step | None] = [None] * len(requests)
    pending = iter(enumerate(requests))

    async def worker() -> None:
        for index, request in pending:
            if before is not None:
                await before(request)
            steps[index] = await deliverer.step(request)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(deliverer.max_in_flight, len(requests))):
                group.create_task(worker())
    except* TransientError as halted:
        raise halted.exceptions[0] from None
    return [item for item in steps if item is not None]
