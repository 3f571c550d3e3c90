"""The import contracts in pyproject.toml (run by `make lint`) catch what they promise: a domain
module that imports asyncpg breaks the lint, and no dependency slips past shared.platforms' list."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
NO_IO = "domain, reply-classification and platform modules do no I/O"
PLATFORMS_ONLY = "shared.platforms imports only"
#: Third-party packages a pure platform package may import (tzdata is zoneinfo's data).
PURE = {"pydantic", "pydantic_settings", "cryptography", "tzdata"}


def pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def contract(name_start: str) -> dict[str, Any]:
    contracts = pyproject()["tool"]["importlinter"]["contracts"]
    [found] = [c for c in contracts if c["name"].startswith(name_start)]
    return dict(found)


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def copy_of_the_project(to: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__")
    for package in ("contracts", "shared", "services"):
        shutil.copytree(ROOT / package, to / package, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", to / "pyproject.toml")
    return to


def test_a_domain_module_that_imports_asyncpg_breaks_the_lint(tmp_path: Path) -> None:
    tree = copy_of_the_project(tmp_path)
    kept = lint_imports(tree)
    domain = tree / "services" / "badge_count" / "domain.py"
    domain.write_text(domain.read_text() + "\nimport asyncpg\n")

    broken = lint_imports(tree)

    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert broken.returncode != 0
    report = broken.stdout.split("Broken contracts", 1)[1]
    assert NO_IO in report
    assert "services.badge_count.domain -> asyncpg" in report


def test_every_dependency_is_allowed_in_a_platform_package_or_forbidden_to_it() -> None:
    project = pyproject()["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["local"]
    modules_of: dict[str, set[str]] = {}
    for module, distributions in packages_distributions().items():
        for distribution in distributions:
            modules_of.setdefault(canonical(distribution), set()).add(module)
    forbidden = set(contract(PLATFORMS_ONLY)["forbidden_modules"])

    unlisted = {
        module
        for requirement in requirements
        for module in modules_of[canonical(re.split(r"[\[=<>~!; ]", requirement)[0])]
        if module not in PURE | forbidden
    }

    assert unlisted == set()


def canonical(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()
