"""The dependency audit's reading of pip-audit: findings fail lint, missing data only informs."""

from __future__ import annotations

import pytest

from tests.security.dependency_audit import UNREACHABLE, summary, verdict

pytestmark = pytest.mark.unit

CLEAN = {"name": "httpx", "version": "0.28.1", "vulns": []}
VULNERABLE = {
    "name": "jinja2",
    "version": "2.10",
    "vulns": [{"id": "GHSA-462w-v97r-4m45", "fix_versions": ["2.10.1"]}],
}
NO_DATA = {
    "name": "aioapns",
    "skip_reason": "Dependency not found on PyPI and could not be audited",
}
OURS = {"name": "herald", "skip_reason": "distribution marked as editable"}


def test_a_known_vulnerability_fails_and_names_the_fix() -> None:
    result = verdict({"dependencies": [CLEAN, VULNERABLE, OURS]})

    assert result.failed
    assert summary(result) == ["VULNERABLE jinja2 2.10: GHSA-462w-v97r-4m45 (fixed in 2.10.1)"]


def test_packages_without_data_are_reported_but_do_not_fail() -> None:
    partial = verdict({"dependencies": [CLEAN, NO_DATA, OURS]})
    none = verdict({"dependencies": [NO_DATA, OURS]})

    assert not partial.failed
    assert summary(partial) == [
        "NOT AUDITED: no vulnerability data for 1 packages: aioapns",
        "no known vulnerabilities in the 1 packages audited",
    ]
    assert not none.failed
    assert "answered for none of the 1 packages" in summary(none)[0]


def test_network_failures_are_recognised() -> None:
    assert UNREACHABLE.search("requests.exceptions.ProxyError: Unable to connect to proxy")
    assert UNREACHABLE.search("urllib3.exceptions.NameResolutionError: pypi.org")
    assert not UNREACHABLE.search("KeyError: 'dependencies'")
