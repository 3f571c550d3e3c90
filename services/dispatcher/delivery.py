"""One delivery step: attempt a push once and decide what follows — a final result, or a retry.

It knows no provider: a platform's Provider turns one attempt into a verdict. A push that must be
tried again is never waited for here; it comes back as a retry request (attempt count, not-before
time) for the retry topic, so a waiting push never holds up the ones behind it. Whatever happens
to one push — a refusal, a pause of its app, an exception — is that push's outcome, never its
batch's: a step never raises, so a batch is never sent twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from contracts.push import Outcome, PushRequest, PushResult
from services.dispatcher import domain
from services.dispatcher.domain import (
    Delivered,
    Pause,
    Reauthenticate,
    Rejected,
    RetryLater,
    RetryPolicy,
    Verdict,
)
from services.dispatcher.pauses import Paused, Pauses
from services.dispatcher.platforms.base import Provider
from shared.clock import Clock
from shared.kafka.tracing import continuing
from shared.logs import token_ref
from shared.telemetry import tracing_enabled

log = logging.getLogger(__name__)
_tracer = trace.get_tracer(__name__)


@dataclass(frozen=True)
class Done:
    """The push's final result; ``dead_letter`` is set when it also belongs in the dead letters."""

    result: PushResult
    dead_letter: str | None = None


@dataclass(frozen=True)
class Again:
    """Try again later: the same push with its attempt count and the time it may go again, why,
    and when that was decided."""

    request: PushRequest
    reason: str
    decided_at: datetime


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
        pauses: Pauses,
        *,
        max_in_flight: int = 64,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.provider = provider
        self.clock = clock
        self.policy = policy
        self.pauses = pauses
        self.jitter = jitter
        self.max_in_flight = max_in_flight
        self._slots = asyncio.Semaphore(max_in_flight)

    def due(self, request: PushRequest) -> datetime | None:
        """When a waiting push may go (None: now)."""
        if request.not_before is None:
            return None
        return self.pauses.due(request.app_id, request.not_before, self.clock.now())

    async def step(self, request: PushRequest) -> Step:
        """What became of one attempt (or of waiting, when the push's app is paused)."""
        now = self.clock.now()
        horizon = self.policy.horizon
        if domain.expired_before_sending(request, now, horizon):
            log.info("push %s expired before it could be sent", request.event_id)
            reason = "TTL ran out before sending"
            return Done(self._result(request, now, "expired", request.attempt, reason))
        probing = False
        while True:
            admission = self.pauses.admit(request.app_id, now)
            if isinstance(admission, Paused):
                return self._hold(request, admission, now)
            if not isinstance(admission, asyncio.Future):
                probing = admission is True
                break
            await asyncio.shield(admission)
            now = self.clock.now()
        try:
            return await self._attempts(request, now)
        finally:
            if probing:
                self.pauses.settled(request.app_id)

    async def _attempts(self, request: PushRequest, now: datetime) -> Step:
        """Attempt the push (again once after a refused access token) and judge the verdict."""
        attempts = request.attempt
        reauthenticated = False
        while True:
            verdict = await self._attempt(request, now)
            now = self.clock.now()
            if isinstance(verdict, Pause) or (
                isinstance(verdict, Reauthenticate) and reauthenticated
            ):
                wait = verdict.wait_at_least if isinstance(verdict, Pause) else 0.0
                reason = verdict.reason.replace(request.token, token_ref(request.token))
                paused = self.pauses.pause(request.app_id, now, reason, wait_at_least=wait)
                return self._hold(request, paused, now)
            attempts += 1
            if isinstance(verdict, Reauthenticate):
                reauthenticated = True
                continue
            if isinstance(verdict, Delivered):
                self.pauses.resumed(request.app_id)
                return Done(
                    self._result(
                        request,
                        now,
                        "delivered",
                        attempts,
                        status=verdict.status,
                        message_id=verdict.message_id,
                    )
                )
            if isinstance(verdict, Rejected):
                return self._rejected(request, verdict, attempts, now)
            return self._retry(request, verdict, attempts, now)

    async def _attempt(self, request: PushRequest, now: datetime) -> Verdict:
        """The provider's verdict. An exception a provider did not turn into one is a fault in
        rendering or sending this push (an input no check foresaw, a library's own error): the
        push fails with it and is parked, and its batch carries on."""
        async with self._slots:
            with continuing(request), _provider_span(request) as span:
                try:
                    verdict = await self.provider.attempt(request, now)
                except Exception as error:
                    log.exception(
                        "push %s: %s while sending it", request.event_id, type(error).__name__
                    )
                    verdict = Rejected(
                        "failed", f"{type(error).__name__} while sending: {error}", None
                    )
                _annotate(span, verdict)
                return verdict

    def _rejected(
        self, request: PushRequest, verdict: Rejected, attempts: int, now: datetime
    ) -> Done:
        reason = verdict.reason.replace(request.token, token_ref(request.token))
        if verdict.outcome == "failed":
            log.warning("giving up on push %s: %s (parked)", request.event_id, reason)
        else:
            log.info("push %s: %s (%s)", request.event_id, verdict.outcome, reason)
        result = self._result(
            request,
            now,
            verdict.outcome,
            attempts,
            reason,
            status=verdict.status,
            invalid_since=verdict.invalid_since,
        )
        return Done(result, reason if verdict.outcome == "failed" else None)

    def _retry(
        self, request: PushRequest, verdict: RetryLater, attempts: int, now: datetime
    ) -> Step:
        """A retry at the backoff's time (a provider's Retry-After is a floor); the expired
        result when the push's time runs out first."""
        reason = verdict.reason.replace(request.token, token_ref(request.token))
        at = domain.next_try(
            request,
            now,
            backoff=self.policy.backoff(attempts, jitter=self.jitter()),
            floor=verdict.wait_at_least,
            horizon=self.policy.horizon,
        )
        if at is None:
            log.info(
                "push %s expired: its TTL runs out before a retry (%s)", request.event_id, reason
            )
            expired = f"TTL runs out before a retry: {reason}"
            return Done(self._result(request, now, "expired", attempts, expired, verdict.status))
        log.debug("push %s: %s; retrying at %s", request.event_id, reason, at.isoformat())
        return Again(
            request.model_copy(update={"attempt": attempts, "not_before": at}), reason, now
        )

    def _hold(self, request: PushRequest, paused: Paused, now: datetime) -> Step:
        """The push of a paused app waits for the pause's end, its attempt count untouched."""
        at = domain.held_until(request, now, paused.until, self.policy.horizon)
        if at is None:
            reason = f"TTL ran out while its app was paused: {paused.reason}"
            return Done(self._result(request, now, "expired", request.attempt, reason))
        held = request.model_copy(update={"not_before": at})
        return Again(held, f"its app is paused: {paused.reason}", now)

    @staticmethod
    def _result(
        request: PushRequest,
        now: datetime,
        outcome: Outcome,
        attempts: int,
        reason: str | None = None,
        status: int | None = None,
        *,
        message_id: str | None = None,
        invalid_since: datetime | None = None,
    ) -> PushResult:
        return domain.result(
            request,
            now,
            outcome=outcome,
            attempts=attempts,
            reason=reason,
            status=status,
            message_id=message_id,
            invalid_since=invalid_since,
        )


def _provider_span(request: PushRequest) -> AbstractContextManager[Span]:
    """The span of one provider request, in the trace of the push it sends (a no-op span, at no
    cost, when tracing is off)."""
    if not tracing_enabled():
        return nullcontext(trace.INVALID_SPAN)
    return _tracer.start_as_current_span(
        f"push {request.platform}",
        kind=SpanKind.CLIENT,
        attributes={"herald.platform": request.platform, "herald.attempt": request.attempt},
    )


def _annotate(span: Span, verdict: Verdict) -> None:
    """What the provider said, on the span of its request (a refusal marks it failed)."""
    span.set_attribute("herald.verdict", type(verdict).__name__)
    if verdict.status is not None:
        span.set_attribute("http.response.status_code", verdict.status)
    if isinstance(verdict, Rejected):
        span.set_status(Status(StatusCode.ERROR, verdict.outcome))


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

    async with asyncio.TaskGroup() as group:
        for _ in range(min(deliverer.max_in_flight, len(requests))):
            group.create_task(worker())
    return [item for item in steps if item is not None]
