"""Looking for secrets in a run's logs: the tokens and key material it used, and where they leaked.
The e2e session scans its stack's logs this way before it stops the stack (tests/e2e/conftest.py).

A needle is described by what it is, never by its value, so a failing scan does not print the
secret it found. The provider emulators may log their own subscription ids (they play the push
service that issued them); no log may hold a device token, a key or a private key block.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.devstack.stack import EMULATORS, LocalStack
from shared.logs import token_ref

PRIVATE_KEY_BLOCK = re.compile(
    r"-----BEGIN ([A-Z ]*PRIVATE KEY)-----(.*?)-----END \1-----", re.DOTALL
)
PRIVATE_KEY_MARKER = "PRIVATE KEY-----"
SECRET_NAMES = re.compile(r"key|secret|token|seal|private|password", re.IGNORECASE)
MIN_SECRET_LENGTH = 16
PREFIX_LENGTH = 24


@dataclass(frozen=True)
class Needle:
    """One secret to look for. ``emulators_may_log`` marks a provider's own id."""

    what: str
    value: str = field(repr=False)
    emulators_may_log: bool = False


def private_key_needles(text: str, source: str) -> Iterator[Needle]:
    """Every line of the body of each PEM private key in ``text``."""
    for label, body in PRIVATE_KEY_BLOCK.findall(text):
        for number, line in enumerate(body.split(), 1):
            if len(line) >= MIN_SECRET_LENGTH:
                yield Needle(f"{label} line {number} of {source}", line)


def file_needles(folder: Path) -> Iterator[Needle]:
    """Key material in the files of a secrets folder (PEM files, service-account JSON)."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = path.read_text(errors="replace")
        yield from private_key_needles(text, path.name)
        if path.suffix == ".json":
            account = json.loads(text)
            if isinstance(account, dict) and isinstance(account.get("private_key_id"), str):
                yield Needle(f"private_key_id of {path.name}", account["private_key_id"])


def value_needles(name: str, value: Any) -> Iterator[Needle]:
    """String leaves of a setting or attribute whose name says it is secret (JSON included)."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = value
        if isinstance(parsed, str):
            if len(parsed) >= MIN_SECRET_LENGTH and not Path(parsed).is_absolute():
                yield Needle(name, parsed)
            return
        value = parsed
    if isinstance(value, dict):
        for key, item in value.items():
            yield from value_needles(f"{name}.{key}", item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from value_needles(f"{name}[{index}]", item)


def settings_needles(settings: dict[str, str], owner: str) -> Iterator[Needle]:
    """Secrets among environment settings, by name (paths to key files are read separately)."""
    for name, value in settings.items():
        if SECRET_NAMES.search(name) and not name.endswith(("_FILE", "_PATH", "_DIR")):
            yield from value_needles(f"{owner} {name}", value)


def token_needles(platform: str, token: str) -> Iterator[Needle]:
    """A device token, its first characters, and for Web Push each part of the subscription."""
    ref = token_ref(token)
    yield Needle(f"{platform} token {ref}", token)
    if platform != "webpush":
        if len(token) >= 2 * PREFIX_LENGTH:
            yield Needle(f"start of {platform} token {ref}", token[:PREFIX_LENGTH])
        return
    subscription = json.loads(token)
    endpoint = subscription["endpoint"]
    yield Needle(f"endpoint of {ref}", endpoint)
    yield Needle(f"endpoint id of {ref}", endpoint.rstrip("/").rsplit("/", 1)[-1], True)
    for name in ("auth", "p256dh"):
        yield Needle(f"keys.{name} of {ref}", subscription["keys"][name])


def leaks(log_files: Iterable[Path], needles: Iterable[Needle], emulators: set[str]) -> list[str]:
    """``file: what`` for every needle found in a log file, and for any private key marker."""
    wanted = [n for n in needles if len(n.value) >= MIN_SECRET_LENGTH // 2]
    found: list[str] = []
    for path in log_files:
        text = path.read_text(errors="replace").lower()
        if PRIVATE_KEY_MARKER.lower() in text:
            found.append(f"{path.name}: a PEM private key block")
        from_emulator = path.stem in emulators
        for needle in wanted:
            if from_emulator and needle.emulators_may_log:
                continue
            if needle.value.lower() in text:
                found.append(f"{path.name}: {needle.what}")
    return found


async def registered_tokens(stack: LocalStack) -> list[Needle]:
    """Every token any test of the session registered, from the registry's own table."""
    assert stack.postgres is not None
    connection = await asyncpg.connect(stack.postgres.dsn)
    try:
        rows = await connection.fetch("SELECT platform, token FROM registry.devices")
    finally:
        await connection.close()
    return [needle for row in rows for needle in token_needles(row["platform"], row["token"])]


def stack_secrets(stack: LocalStack) -> list[Needle]:
    """Keys the stack minted, settings that carry secrets, and the key files it generated."""
    needles: list[Needle] = []
    for attribute in fields(stack):
        if attribute.name in {"api_key", "signing_key"} or "secret" in attribute.name:
            needles.extend(value_needles(f"stack.{attribute.name}", getattr(stack, attribute.name)))
    for name, process in stack.services.items():
        needles.extend(settings_needles(process.env, name))
    needles.extend(file_needles(stack.run_dir / "secrets"))
    return needles


def assert_no_leaks(stack: LocalStack, learnt: Iterable[Needle]) -> None:
    """No log of the running ``stack`` (services, emulators, broker) holds a registered token, a
    secret the stack holds or one the tests ``learnt``; fails too if the scan could see nothing.
    A failure shows its message alone: a traceback would print the stack and its keys."""
    needles = [*learnt, *asyncio.run(registered_tokens(stack)), *stack_secrets(stack)]
    log_files = sorted((stack.run_dir / "logs").glob("*.log"))

    if stack.broker is None:
        pytest.fail("the stack has no broker to read the logs of", pytrace=False)
    found = leaks([*log_files, *stack.broker.log_paths()], needles, set(EMULATORS))

    _require(
        len(log_files) == len(stack.services), f"{len(log_files)} logs of {len(stack.services)}"
    )
    _require(any("PRIVATE KEY" in n.what for n in needles), "no key files found to look for")
    _require(any(n.what == "stack.api_key" for n in needles), "the stack's API key is not sought")
    _require(not found, "secrets in logs:\n" + "\n".join(sorted(set(found))))


def _require(holds: bool, failure: str) -> None:
    if not holds:
        pytest.fail(failure, pytrace=False)
