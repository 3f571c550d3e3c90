"""What one scenario came to, and the table the runner prints: sent, delivered, lost (which must
be 0) and duplicates, with the other expectations a scenario found broken spelled out below."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Result:
    """One scenario's count of deliveries and anything else it found wrong.

    ``sent`` counts the notifications ingest accepted; ``owed`` the deliveries they owe (one per
    device); ``delivered`` the owed deliveries that reached a provider; ``lost`` the rest;
    ``duplicates`` the deliveries beyond one of the same notification to the same platform.
    """

    scenario: str
    sent: int
    owed: int
    delivered: int
    lost: int
    duplicates: int
    seconds: float
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    logs: str | None = field(default=None, compare=False)

    @property
    def passed(self) -> bool:
        return self.lost == 0 and not self.problems


COLUMNS = ("scenario", "sent", "owed", "delivered", "lost", "dups", "result", "time")


def table(results: Sequence[Result]) -> str:
    """The results as an aligned table, then each scenario's problems and notes."""
    rows = [COLUMNS] + [
        (
            r.scenario,
            f"{r.sent:,}",
            f"{r.owed:,}",
            f"{r.delivered:,}",
            f"{r.lost:,}",
            f"{r.duplicates:,}",
            "pass" if r.passed else "FAIL",
            f"{r.seconds:.0f}s",
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    for r in results:
        for problem in r.problems:
            lines.append(f"  {r.scenario}: FAIL: {problem}")
        for note in r.notes:
            lines.append(f"  {r.scenario}: {note}")
        if r.logs is not None:
            lines.append(f"  {r.scenario}: logs kept in {r.logs}")
    return "\n".join(lines)
