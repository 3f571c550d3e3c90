"""CPU time and memory of the stack's processes, read from the OS (/proc), by the PIDs the stack
started: each service, the broker, and PostgreSQL (its postmaster and every backend under it).

CPU is user + system time; RSS is resident memory now, and the most a phase saw in samples.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_SECONDS = 0.5


def _stat(pid: int, *, reaped: bool = False) -> tuple[int, float, int] | None:
    """(parent pid, CPU seconds, RSS bytes) of one process, None when it is gone; ``reaped``
    adds the CPU of children it has waited for (PostgreSQL's ended backends)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text.rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return int(fields[1]), ticks / TICKS, int(fields[21]) * PAGE


def children_of(parent: int) -> list[int]:
    """Direct children of ``parent`` (PostgreSQL's backends)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[0] == parent:
                found.append(int(entry.name))
    return found


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float
    rss_bytes: int


@dataclass
class Processes:
    """The PIDs behind each name; ``tree`` names also count their children (PostgreSQL)."""

    pids: dict[str, int]
    tree: frozenset[str] = frozenset()

    def usage(self) -> dict[str, Usage]:
        result = {}
        for name, pid in self.pids.items():
            tree = name in self.tree
            members = [pid, *children_of(pid)] if tree else [pid]
            cpu, rss = 0.0, 0
            for member in members:
                stat = _stat(member, reaped=tree and member == pid)
                if stat is not None:
                    cpu += stat[1]
                    rss += stat[2]
            result[name] = Usage(cpu, rss)
        return result


@dataclass
class MemoryWatch:
    """Samples RSS while a phase runs: the peak, the median and the course of each process."""

    processes: Processes
    samples: dict[str, list[int]] = field(default_factory=dict)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for name, usage in self.processes.usage().items():
                self.samples.setdefault(name, []).append(usage.rss_bytes)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SAMPLE_SECONDS)

    def peak(self, name: str) -> int:
        return max(self.samples.get(name) or [0])

    def thinned(self, name: str, points: int = 60) -> list[int]:
        """At most ``points`` samples, evenly spaced over the phase."""
        values = self.samples.get(name) or []
        step = max(1, len(values) // points)
        return values[::step]

    def steady(self, name: str) -> int:
        values = sorted(self.samples.get(name) or [0])
        return values[len(values) // 2]


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine spent busy since boot (all processes, anyone's)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq + steal) / TICKS


def machine_stolen_seconds() -> float:
    """CPU seconds the hypervisor gave to other guests while this one wanted them, since boot.

    On a shared VM this moves every figure of a run: CPU per delivery rises for every process
    alike, so the report gives it next to the figures.
    """
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return values[7] / TICKS


def postmaster_pid(data_dir: Path) -> int:
    """PostgreSQL's main PID, from the first line of postmaster.pid in its data folder."""
    return int((data_dir / "postmaster.pid").read_text().split()[0])
