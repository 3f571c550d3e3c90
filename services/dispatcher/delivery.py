"""The delivery loop: attempt, act on the verdict, wait and retry within attempts and TTL.

It knows no provider: a platform's Provider turns one attempt into a verdict. Work in flight is
bounded by a fixed number of workers per batch, never one task per push.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence

from contracts.push import PushRequest, PushResult
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

Sleep = Callable[[float], Awaitable[None]]


class Deliverer:
    """Takes one push request to its final result."""

    def __init__(
        self,
        provider: Provider,
        clock: Clock,
        policy: RetryPolicy,
        *,
        sleep: Sleep | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.provider = provider
        self.clock = clock
        self.policy = policy
        self.sleep = sleep or asyncio.sleep
        self.jitter = jitter

    async def deliver(self, request: PushRequest) -> PushResult:
        """The result of ``request``; raises TransientError when the deployment must halt."""
        ref = token_ref(request.token)
        now = self.clock.now()
        if domain.expired_before_sending(request, now):
            log.info("push %s to %s expired before sending", request.event_id, ref)
            return domain.result(
                request, now, outcome="expired", attempts=0, reason="TTL ran out before sending"
            )
        attempts = 0
        reauthenticated = False
        while True:
            attempts += 1
            verdict = await self.provider.attempt(request, now)
            now = self.clock.now()
            if isinstance(verdict, Delivered):
                log.debug("push %s delivered to %s", request.event_id, ref)
                return domain.result(
                    request,
                    now,
                    outcome="delivered",
                    attempts=attempts,
                    status=verdict.status,
                    message_id=verdict.message_id,
                )
            reason = verdict.reason.replace(request.token, ref)
            if isinstance(verdict, Rejected):
                log.info("push %s to %s: %s (%s)", request.event_id, ref, verdict.outcome, reason)
                return domain.result(
                    request,
                    now,
                    outcome=verdict.outcome,
                    attempts=attempts,
                    reason=reason,
                    status=verdict.status,
                )
            if isinstance(verdict, Halt) or (
                isinstance(verdict, Reauthenticate) and reauthenticated
            ):
                log.error("halting: %s", reason)
                raise TransientError(f"provider refuses this deployment: {reason}")
            if isinstance(verdict, Reauthenticate):
                reauthenticated = True
                continue
            delay = self.policy.delay(
                attempts, wait_at_least=verdict.wait_at_least, jitter=self.jitter()
            )
            stop = self._stop_retrying(request, verdict, attempts, delay, reason)
            if stop is not None:
                return stop
            log.info("push %s to %s: %s; retrying in %.1fs", request.event_id, ref, reason, delay)
            await self.sleep(delay)
            now = self.clock.now()

    def _stop_retrying(
        self, request: PushRequest, verdict: RetryLater, attempts: int, delay: float, reason: str
    ) -> PushResult | None:
        """The final result when a passing failure may not be retried any more, else None.

        A provider that answered errors every time fails this push; one that never answered at
        all is an outage of the deployment, so the batch halts and is delivered again later.
        """
        now = self.clock.now()
        if attempts >= self.policy.max_attempts:
            if verdict.status is None:
                log.error("halting: provider unreachable after %d attempts: %s", attempts, reason)
                raise TransientError(f"provider unreachable after {attempts} attempts: {reason}")
            return domain.result(
                request,
                now,
                outcome="failed",
                attempts=attempts,
                reason=f"gave up after {attempts} attempts: {reason}",
                status=verdict.status,
            )
        if verdict.wait_at_least > self.policy.max_delay:
            return domain.result(
                request,
                now,
                outcome="failed",
                attempts=attempts,
                reason=f"provider asks to wait {verdict.wait_at_least:.0f}s: {reason}",
                status=verdict.status,
            )
        if domain.retry_would_expire(request, now, delay):
            return domain.result(
                request,
                now,
                outcome="expired",
                attempts=attempts,
                reason=f"TTL runs out before a retry: {reason}",
                status=verdict.status,
            )
        return None


async def deliver_all(
    deliverer: Deliverer, requests: Sequence[PushRequest], max_in_flight: int
) -> list[PushResult]:
    """Results of ``requests`` in their order, at most ``max_in_flight`` attempts at once."""
    results: list[PushResult | None] = [None] * len(requests)
    pending = iter(enumerate(requests))

    async def worker() -> None:
        for index, request in pending:
            results[index] = await deliverer.deliver(request)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(max_in_flight, len(requests))):
                group.create_task(worker())
    except* TransientError as halted:
        raise halted.exceptions[0] from None
    return [item for item in results if item is not None]
