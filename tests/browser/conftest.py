"""One headless Debian Chromium on the console of the session's stack (the e2e tests' one), and
the guards every page visit runs under: a console error, a failed request or an error answer
fails the test. Screenshots go to ``test-results/console/`` (HERALD_TEST_RESULTS overrides it).

Chromium comes from Debian (``make test`` installs it); Playwright drives it from PyPI and never
downloads a browser. Without Chromium the tests are skipped with the reason, except under CI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Response, sync_playwright

from services.devstack.stack import LocalStack

CHROMIUM = Path(os.environ.get("HERALD_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
RESULTS = Path(os.environ.get("HERALD_TEST_RESULTS", "test-results")) / "console"


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's Chromium; asked for before the stack, so a machine without it skips at once."""
    if CHROMIUM.exists():
        return CHROMIUM
    reason = (
        f"Chromium is not installed at {CHROMIUM} (make test installs it: apt-get install chromium)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI the browser tests must run", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def screenshots() -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    return RESULTS


class Watched:
    """A page whose console errors, failed requests and error answers are collected; ``check``
    fails the test on any of them."""

    def __init__(self, page: Page, screenshots: Path) -> None:
        self.page = page
        self.screenshots = screenshots
        self.problems: list[str] = []
        page.on(
            "console",
            lambda message: (
                self.problems.append(f"console {message.type}: {message.text}")
                if message.type in {"error", "warning"}
                else None
            ),
        )
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on(
            "requestfailed",
            lambda request: self.problems.append(
                f"request failed: {request.method} {request.url} ({request.failure})"
            ),
        )
        page.on("response", self._answered)

    def _answered(self, response: Response) -> None:
        if response.status >= 400:
            self.problems.append(f"{response.status} for {response.request.method} {response.url}")

    def check(self) -> None:
        problems, self.problems = self.problems, []
        assert not problems, "\n".join(problems)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.screenshots / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def browser_context(chromium: Path, stack: LocalStack) -> Iterator[BrowserContext]:
    """Chromium on the console of the session's stack (tests/conftest.py, shared with e2e)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=stack.services["console"].url)
        try:
            yield context
        finally:
            context.close()
            browser.close()


@pytest.fixture(scope="module")
def console(
    browser_context: BrowserContext, stack: LocalStack, screenshots: Path
) -> Iterator[Watched]:
    """A page signed in with the demo app's key."""
    watched = Watched(browser_context.new_page(), screenshots)
    page = watched.page
    page.goto("/signin")
    watched.shot("signin")
    page.get_by_label("App API key").fill(stack.api_key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/compose")
    watched.check()
    yield watched
    watched.check()
