"""What ``make run`` prints for the ``herald`` command works: the two exports of its banner,
taken as a person pastes them, let ``herald`` manage the demo app through the admin API."""

from __future__ import annotations

import asyncio
import shlex

import pytest

from services.devstack.__main__ import banner
from services.devstack.stack import LocalStack
from services.registry.apps.cli import main

pytestmark = pytest.mark.e2e


def exported(text: str) -> dict[str, str]:
    """Every ``export NAME=value`` of the banner, as a shell would set them."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip().startswith("export "):
            for word in shlex.split(line, comments=True)[1:]:
                name, value = word.split("=", 1)
                found[name] = value
    return found


async def test_the_printed_exports_let_herald_manage_the_demo_app(
    stack: LocalStack,
    operator_key: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = banner(stack, operator_key)
    printed = exported(text)
    for name in ("HERALD_REGISTRY_URL", "HERALD_ADMIN_KEY"):
        monkeypatch.setenv(name, printed[name])
    app = stack.options.app_id

    codes = [
        await asyncio.to_thread(main, ["apps", "list"]),
        await asyncio.to_thread(main, ["keys", "list", app]),
        await asyncio.to_thread(main, ["credentials", "list", app]),
    ]
    out = capsys.readouterr().out

    assert printed["HERALD_REGISTRY_URL"] == stack.services["registry"].url
    assert stack.services["console"].url in text
    assert codes == [0, 0, 0]
    assert f"{app} " in out
    assert "send,devices,badges,admin" in out
    assert {"apns", "fcm", "webpush"} <= {line.split()[0] for line in out.splitlines()}
