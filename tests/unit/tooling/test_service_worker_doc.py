"""The service worker the README shows app developers is the one the rendering tests run."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).parents[3]


def test_the_readme_shows_the_service_worker_the_tests_run() -> None:
    readme = (ROOT / "README.md").read_text()
    tested = (ROOT / "tests" / "support" / "service_worker.js").read_text()
    code = "".join(line for line in tested.splitlines(keepends=True) if not line.startswith("//"))

    assert f"```js\n{code}```" in readme
