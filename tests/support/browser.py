"""Driving the console in Debian's Chromium from the tests: the browser (``make test`` installs
it; Playwright from PyPI drives it and never downloads one), a page whose console errors, failed
requests and error answers fail the test, and its screenshots under ``test-results/console/``
(``HERALD_TEST_RESULTS`` moves the folder). Without Chromium the tests skip with the reason,
except under CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, Response, sync_playwright

from services.devstack.stack import LocalStack

CHROMIUM = Path(os.environ.get("HERALD_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def results_folder() -> Path:
    folder = Path(os.environ.get("HERALD_TEST_RESULTS", "test-results")) / "console"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def installed_chromium() -> Path:
    """Debian's Chromium; skips the test without it, or fails it under CI."""
    if CHROMIUM.exists():
        return CHROMIUM
    reason = (
        f"Chromium is not installed at {CHROMIUM} (make test installs it: apt-get install chromium)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI the browser tests must run", pytrace=False)
    pytest.skip(reason)


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
        page.on("requestfailed", self._failed)
        page.on("response", self._answered)

    def _failed(self, request: Request) -> None:
        """A request the browser itself aborted because the page moved on (a navigation while a
        refresh or a preview is in flight) is not a failure of the console; anything else is."""
        if request.failure == "net::ERR_ABORTED":
            return
        self.problems.append(f"request failed: {request.method} {request.url} ({request.failure})")

    def _answered(self, response: Response) -> None:
        if response.status >= 400:
            self.problems.append(f"{response.status} for {response.request.method} {response.url}")

    def check(self) -> None:
        problems, self.problems = self.problems, []
        assert not problems, "\n".join(problems)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.screenshots / f"{name}.png"), full_page=True)


@contextmanager
def signed_in_console(chromium: Path, stack: LocalStack) -> Iterator[Watched]:
    """A page of ``stack``'s console, signed in with the demo app's key; checked at the end."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=stack.services["console"].url)
        try:
            watched = Watched(context.new_page(), results_folder())
            page = watched.page
            page.goto("/signin")
            watched.shot("signin")
            page.get_by_label("App API key").fill(stack.api_key)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/compose")
            watched.check()
            yield watched
            watched.check()
        finally:
            context.close()
            browser.close()
