"""`make lint`'s check for known vulnerabilities in the installed packages (pip-audit via PyPI).

A vulnerable package fails it. A vulnerability service that cannot be reached, or that has no data
for a package, is said plainly and does not: lint must pass offline, and say what it did not check.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: What requests and urllib3 raise when the service is out of reach (DNS, proxy, refused, slow).
UNREACHABLE = re.compile(
    r"ConnectionError|ProxyError|ConnectTimeout|ReadTimeout|MaxRetryError|NameResolution"
    r"|Temporary failure in name resolution|Network is unreachable"
)


@dataclass
class Verdict:
    """What the audit found: vulnerabilities fail it; unaudited packages are only reported."""

    vulnerable: list[str] = field(default_factory=list)
    unaudited: list[str] = field(default_factory=list)
    audited: int = 0

    @property
    def failed(self) -> bool:
        return bool(self.vulnerable)


def verdict(report: dict[str, Any]) -> Verdict:
    """Read pip-audit's JSON report."""
    result = Verdict()
    for dependency in report.get("dependencies", []):
        name = dependency["name"]
        skipped = dependency.get("skip_reason")
        if skipped is not None:
            if "editable" not in skipped:
                result.unaudited.append(name)
            continue
        name = f"{name} {dependency['version']}"
        result.audited += 1
        for vulnerability in dependency.get("vulns", []):
            fixed = ", ".join(vulnerability.get("fix_versions", [])) or "no fixed release yet"
            result.vulnerable.append(f"{name}: {vulnerability['id']} (fixed in {fixed})")
    return result


def summary(result: Verdict) -> list[str]:
    """Lines for a person: every finding, then what could not be checked."""
    lines = [f"VULNERABLE {finding}" for finding in result.vulnerable]
    if result.unaudited and not result.audited:
        lines.append(
            "NOT AUDITED: the vulnerability service (PyPI's per-version JSON API) answered for "
            f"none of the {len(result.unaudited)} packages"
        )
    elif result.unaudited:
        lines.append(
            f"NOT AUDITED: no vulnerability data for {len(result.unaudited)} packages: "
            + ", ".join(sorted(result.unaudited))
        )
    if result.audited and not result.failed:
        lines.append(f"no known vulnerabilities in the {result.audited} packages audited")
    return lines


def main() -> int:
    """Run pip-audit on this environment; 1 on findings (or a pip-audit failure), else 0."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        run = subprocess.run(
            [
                *(sys.executable, "-m", "pip_audit", "--skip-editable", "--progress-spinner"),
                *("off", "--timeout", "15", "--format", "json", "--output", str(report)),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if not report.exists():
            last = (run.stderr.strip().splitlines() or ["(no output)"])[-1]
            if UNREACHABLE.search(run.stderr):
                print("pip-audit: NOT AUDITED, the vulnerability service is unreachable:", last)
                return 0
            print("pip-audit failed:", run.stderr.strip() or run.stdout.strip())
            return 1
        result = verdict(json.loads(report.read_text()))
    for line in summary(result):
        print("pip-audit:", line)
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
