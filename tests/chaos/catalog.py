"""Every scenario of the suite, in the order the runner plays them, and which of them the short
form (CI) runs. A scenario whose fix has not landed yet stays in the full suite, where it fails
and says why, and out of the short form until it passes; the runner names it either way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tests.chaos.harness import Chaos
from tests.chaos.scenarios import database, goaway, identical, kills, outages, poison, reads, storms


@dataclass(frozen=True)
class Scenario:
    """A named fault; ``known_failing`` says which fix it waits for (then it is not short)."""

    name: str
    play: Callable[[Chaos], Awaitable[None]]
    short: bool = False
    known_failing: str | None = None

    @property
    def in_short_form(self) -> bool:
        return self.short and self.known_failing is None


SCENARIOS = (
    Scenario("kill-each-service", kills.each_service_in_turn, short=True),
    Scenario("kill-dispatchers-15s", kills.dispatchers_every_15s),
    Scenario("postgres-restart", database.restarted),
    Scenario("fcm-down", outages.provider_down("fcm")),
    Scenario("apns-down", outages.provider_down("apns")),
    Scenario("webpush-down", outages.provider_down("webpush")),
    Scenario("429-storm", storms.throttled),
    Scenario("503-storm", storms.unavailable),
    Scenario("goaway-in-flight", goaway.with_requests_in_flight, short=True),
    Scenario("poison", poison.on_every_consumed_topic, short=True),
    Scenario("identical-sends", identical.ten_concurrent_identical_sends, short=True),
    Scenario("read-storm", reads.out_of_order, short=True),
)


def by_name(name: str) -> Scenario:
    for scenario in SCENARIOS:
        if scenario.name == name:
            return scenario
    raise KeyError(name)
