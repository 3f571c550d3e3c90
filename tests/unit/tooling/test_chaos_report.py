"""The fault suite's verdicts and table: a lost push or a broken expectation fails a scenario, the
table shows every count, and the short form never runs a scenario still waiting for its fix."""

from __future__ import annotations

import dataclasses

import pytest

from tests.chaos.__main__ import main
from tests.chaos.catalog import SCENARIOS, Scenario
from tests.chaos.result import Result, table

pytestmark = pytest.mark.unit

CLEAN = Result("kill-each-service", 420, 1260, 1260, 0, 3, 61.0, notes=("3 repeats",))


def test_a_scenario_passes_only_with_nothing_lost_and_no_problem() -> None:
    assert CLEAN.passed
    assert not dataclasses.replace(CLEAN, delivered=1259, lost=1).passed
    assert not dataclasses.replace(CLEAN, problems=("ingest answered 500 to 1 sends",)).passed


def test_the_table_shows_each_count_and_spells_out_failures() -> None:
    failed = Result("apns-down", 900, 2700, 2690, 10, 0, 99.0, problems=("apns lost",))

    lines = table([CLEAN, failed]).splitlines()

    assert lines[0].split() == [
        "scenario",
        "sent",
        "owed",
        "delivered",
        "lost",
        "dups",
        "result",
        "time",
    ]
    assert lines[2].split() == [
        "kill-each-service",
        "420",
        "1,260",
        "1,260",
        "0",
        "3",
        "pass",
        "61s",
    ]
    assert lines[3].split() == ["apns-down", "900", "2,700", "2,690", "10", "0", "FAIL", "99s"]
    assert "  apns-down: FAIL: apns lost" in lines
    assert "  kill-each-service: 3 repeats" in lines


def test_scenario_names_are_unique_and_a_known_failure_stays_out_of_the_short_form() -> None:
    names = [scenario.name for scenario in SCENARIOS]
    waiting = Scenario("x", SCENARIOS[0].play, short=True, known_failing="the fix for x")

    assert len(names) == len(set(names))
    assert any(scenario.in_short_form for scenario in SCENARIOS)
    assert not waiting.in_short_form


def test_the_runner_lists_every_scenario_and_refuses_an_unknown_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    with pytest.raises(SystemExit) as refused:
        main(["no-such-scenario"])

    assert [line.split()[0] for line in listed] == [scenario.name for scenario in SCENARIOS]
    assert refused.value.code == 2
